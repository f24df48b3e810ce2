"""Which remote files count as complete, and how they come into the inbox."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.contracts import SourceSpec
from etl.config.settings import LocalStoreSettings
from etl.runtime import Runtime
from etl.to_norce.intake import Candidate, download, ready_files, settle_remote
from etl.to_norce.run import run_feed
from etl.transport.base import Store
from etl.transport.local import LocalStore
from tests.fixtures.feeds import PRODUCTS_HEADER
from tests.support.masterdata import run_once, settings_for
from tests.support.sftp_server import run_sftp_server


def _store(root: Path) -> LocalStore:
    return LocalStore("erp", LocalStoreSettings(root=root))


def _drop(root: Path, name: str, data: bytes = b"a;b\n1;2\n", age: float = 100.0) -> Path:
    path = root / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = path.stat().st_mtime - age
    os.utime(path, (stamp, stamp))
    return path


def _names(found: list[Candidate]) -> list[str]:
    return [c.remote.name for c in found]


def test_temp_names_and_dotfiles_are_never_taken(tmp_path: Path) -> None:
    for name in ("p_2.csv", "p_1.csv", "p_3.csv.part", ".p_4.csv", "p_5.csv.tmp", "other.csv"):
        _drop(tmp_path, name)
    source = SourceSpec(folder="in", pattern="p_*.csv*", ready="temp_name")
    assert _names(ready_files(_store(tmp_path), source, 0, lambda s: None)) == [
        "p_1.csv",
        "p_2.csv",
    ]


def test_done_marker_gates_the_file_and_travels_with_it(tmp_path: Path) -> None:
    _drop(tmp_path, "p_1.csv")
    _drop(tmp_path, "p_2.csv")
    _drop(tmp_path, "p_1.csv.done", b"")
    source = SourceSpec(folder="in", pattern="p_*", ready="done_marker")
    store = _store(tmp_path)
    [ready] = ready_files(store, source, 0, lambda s: None)
    assert ready.remote.name == "p_1.csv" and ready.marker == "in/p_1.csv.done"
    settle_remote(store, source, ready, "committed")
    assert sorted(p.name for p in (tmp_path / "in" / "processed").iterdir()) == [
        "p_1.csv",
        "p_1.csv.done",
    ]
    assert (tmp_path / "in" / "p_2.csv").exists()


def test_stable_rule_waits_for_a_file_that_grows_between_two_looks(tmp_path: Path) -> None:
    _drop(tmp_path, "p_1.csv")
    growing = _drop(tmp_path, "p_2.csv")
    _drop(tmp_path, "p_3.csv")
    waits: list[float] = []

    def erp_still_writing(seconds: float) -> None:
        waits.append(seconds)
        with growing.open("ab") as handle:
            handle.write(b"3;4\n")

    source = SourceSpec(folder="in", pattern="p_*.csv", ready="stable", stable_seconds=3)
    # p_3 is complete but must not overtake p_2, which is still being written.
    assert _names(ready_files(_store(tmp_path), source, 0, erp_still_writing)) == ["p_1.csv"]
    assert waits == [3]


def test_a_file_without_its_marker_holds_back_later_ones(tmp_path: Path) -> None:
    for name in ("p_1.csv", "p_2.csv", "p_2.csv.done", "p_3.csv", "p_3.csv.done"):
        _drop(tmp_path, name)
    source = SourceSpec(folder="in", pattern="p_*", ready="done_marker")
    assert ready_files(_store(tmp_path), source, 0, lambda s: None) == []
    _drop(tmp_path, "p_1.csv.done")
    assert _names(ready_files(_store(tmp_path), source, 0, lambda s: None)) == [
        "p_1.csv",
        "p_2.csv",
        "p_3.csv",
    ]


def test_min_age_and_max_files(tmp_path: Path) -> None:
    for i in range(5):
        _drop(tmp_path, f"p_{i}.csv", age=100)
    fresh = _drop(tmp_path, "p_9.csv", age=0)
    now = fresh.stat().st_mtime + 1
    source = SourceSpec(
        folder="in", pattern="p_*.csv", ready="temp_name", min_age_seconds=30, max_files=3
    )
    assert _names(ready_files(_store(tmp_path), source, now, lambda s: None)) == [
        "p_0.csv",
        "p_1.csv",
        "p_2.csv",
    ]


def test_download_lands_complete_with_its_hash(tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    _drop(tmp_path, "p_1.csv", data)
    store = _store(tmp_path)
    [candidate] = ready_files(
        store, SourceSpec(folder="in", pattern="*", ready="temp_name"), 0, lambda s: None
    )
    fetched = download(store, candidate, tmp_path / "inbox")
    assert fetched.local.read_bytes() == data and fetched.sha == hashlib.sha256(data).hexdigest()
    assert fetched.ledger_file() == (fetched.sha, "in/p_1.csv", len(data), candidate.remote.mtime)
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == ["p_1.csv"]


def test_a_settled_name_that_exists_in_processed_is_not_overwritten(tmp_path: Path) -> None:
    store = _store(tmp_path)
    source = SourceSpec(folder="in", pattern="*.csv", ready="temp_name")
    _drop(tmp_path, "p_1.csv", b"old")
    [first] = ready_files(store, source, 0, lambda s: None)
    settle_remote(store, source, first, "committed")
    _drop(tmp_path, "p_1.csv", b"new, same name")
    [second] = ready_files(store, source, 0, lambda s: None)
    settle_remote(store, source, second, "rejected")
    assert (tmp_path / "in" / "processed" / "p_1.csv").read_bytes() == b"old"
    assert [p.read_bytes() for p in (tmp_path / "in" / "rejected").iterdir()] == [b"new, same name"]
    for attempt in (b"third", b"fourth"):
        _drop(tmp_path, "p_1.csv", attempt)
        [again] = ready_files(store, source, 0, lambda s: None)
        settle_remote(store, source, again, "committed")
    processed = sorted(p.name for p in (tmp_path / "in" / "processed").iterdir())
    assert processed == ["p_1-2.csv", "p_1-3.csv", "p_1.csv"]


# -- a file is taken only when it is complete ------------------------------------------------


def test_the_default_stable_seconds_outlasts_a_writer_pausing_to_flush() -> None:
    assert SourceSpec().stable_seconds >= 60


class ResumingWriter:
    """The real store, while the ERP, paused so far, resumes writing `disk` right after our download.

    The file really grows on disk (for SFTP: in the folder the server serves) between the
    listing and the look after the download; nothing of the store is faked.
    """

    def __init__(self, store: Store, disk: Path, rest: bytes) -> None:
        self._store, self._disk, self._rest = store, disk, rest

    def download(self, path: str, target: Path) -> None:
        self._store.download(path, target)
        if self._rest and path.endswith(self._disk.name):
            with self._disk.open("ab") as handle:
                handle.write(self._rest)
            self._rest = b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _product(i: int) -> bytes:
    return f"4{i:05d};ACME;Acme AB;M-{i};;Artikel {i};;GLOVES;;25;1,0\r\n".encode("cp1252")


def _stock_item(i: int) -> bytes:
    return (
        f'  <Item sku="4{i:05d}"><Warehouse code="MAIN"/><Location>A1</Location>'
        f"<OnHand>{i}</OnHand></Item>\n"
    ).encode()


# (feed, file name, first part as the ERP wrote it before its pause, the rest after)
HALVES = {
    "products": (
        "products_20261120.csv",
        (PRODUCTS_HEADER + "\r\n").encode("cp1252") + b"".join(_product(i) for i in range(190)),
        b"".join(_product(i) for i in range(190, 200)),
    ),
    "stock": (
        "stock_20261120.xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<StockReport>\n'
        + b"".join(_stock_item(i) for i in range(190)),
        b"".join(_stock_item(i) for i in range(190, 200)) + b"</StockReport>\n",
    ),
}


@pytest.mark.parametrize("feed", ["products", "stock"], ids=["csv", "xml"])
@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_writer_pausing_longer_than_stable_seconds_never_gets_half_a_file_taken(
    home: Path, tmp_path: Path, kind: str, feed: str
) -> None:
    contract_file = home / "schemas" / f"{feed}.toml"
    text = contract_file.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^stable_seconds = .*\n", "", text)
    text = re.sub(r"(?m)^ready = .*$", 'ready = "stable"\nstable_seconds = 30', text)
    contract_file.write_text(text, encoding="utf-8")
    name, first, rest = HALVES[feed]
    erp = tmp_path / "erp"
    disk = erp / feed / name
    disk.parent.mkdir(parents=True)
    disk.write_bytes(first)
    waits: list[float] = []

    def erp_paused(seconds: float) -> None:
        waits.append(seconds)  # the ERP writes nothing during our two looks

    with run_sftp_server(erp, tmp_path / "keys") as server:
        where = server.settings() if kind == "sftp" else LocalStoreSettings(root=erp)
        settings = settings_for(home, where)
        contract = load_contracts(settings)[feed]
        rt = Runtime.open(settings, sleep=erp_paused)
        try:
            rt._stores["erp"] = ResumingWriter(rt.store("erp"), disk, rest)
            first_pass = run_feed(rt, contract)
            assert [(o.name, o.outcome) for o in first_pass] == [(name, "waiting")]
            assert waits == [30]
            # Not committed, not rejected, not moved: it waits where the ERP writes it.
            assert [r.outcome for r in rt.ledger.runs(feed)] == []
            assert sorted(p.name for p in disk.parent.iterdir()) == [name]
            assert not (home / "archive").exists() and not (home / "outbox").exists()
            assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]

            second_pass = run_feed(rt, contract)
        finally:
            rt.close()
    assert [(o.name, o.outcome, o.counts["rows"]) for o in second_pass] == [
        (name, "committed", 200)
    ]
    assert (disk.parent / "processed" / name).read_bytes() == first + rest


# -- names -----------------------------------------------------------------------------------


def _product_file(path: Path, *skus: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((PRODUCTS_HEADER + "\r\n").encode("cp1252") + b"".join(map(_product, skus)))


def _config(home: Path, store: str) -> Path:
    config = home / "etl.toml"
    config.write_text(f'home = "."\n\n[stores.erp]\n{store}\n', encoding="utf-8")
    return config


FORGED = "\n2026-11-20 02:00:00,000 INFO    etl: products: all good.csv"


def test_a_refused_name_is_set_aside_as_rejected_and_the_files_behind_it_are_taken(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "erp" / "products"
    _product_file(folder / "products_1.csv", 1)
    _product_file(folder / "products_2\\x.csv", 2)
    _product_file(folder / f"products_3{FORGED}", 3)
    _product_file(folder / "products_4.csv", 4)
    config = _config(home, f'kind = "local"\nroot = "{tmp_path / "erp"}"')

    assert main(["--config", str(config), "once", "--feed", "products"]) == 3
    once = capsys.readouterr().out
    assert main(["--config", str(config), "status", "--feed", "products"]) == 0
    status = capsys.readouterr().out

    assert "products: products_1.csv: committed" in once
    assert "products: products_4.csv: committed" in once
    assert "products: products_2\\\\x.csv: rejected: " in once
    assert "backslash" in once
    assert "products: products_3\\n2026-11-20 02:00:00,000 INFO    etl: products: all" in once
    assert "control character" in once
    lines = status.split("\n\n")[1].splitlines()  # after the problems: the runs
    rejected = [line for line in lines if " rejected: " in line]
    assert len(rejected) == 2 and len(lines) == 5  # header, 4 runs: nothing broke the table
    assert any("products_2\\\\x.csv" in line and "backslash" in line for line in rejected)
    assert any("products_3\\n2026-11-20" in line for line in rejected)
    assert not any(FORGED in r.getMessage() for r in caplog.records)
    # Set aside where it lies (the store refuses to touch such a name); the others moved on.
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "products_2\\x.csv",
        f"products_3{FORGED}",
    ]
    assert sorted(p.name for p in (folder / "processed").iterdir()) == [
        "products_1.csv",
        "products_4.csv",
    ]
    # Seen once: the next pass does not reject them again.
    assert main(["--config", str(config), "once", "--feed", "products"]) == 0
    assert capsys.readouterr().out.count("skipped: already refused") == 2


def test_a_cp1252_name_is_listed_and_taken_over_sftp(home: Path, tmp_path: Path) -> None:
    erp = tmp_path / "erp"
    _product_file(erp / "products" / "products_1.csv", 1)
    raw = os.fsencode(erp / "products") + b"/products_2_pris\xe5.csv"
    os.rename(erp / "products" / "products_1.csv", raw)
    _product_file(erp / "products" / "products_3.csv", 3)
    with run_sftp_server(erp, tmp_path / "keys") as server:
        outcomes = run_once(settings_for(home, server.settings()), "products")
    assert [(o.name, o.outcome) for o in outcomes] == [
        ("products_2_priså.csv", "committed"),
        ("products_3.csv", "committed"),
    ]
    assert sorted(os.listdir(os.fsencode(erp / "products" / "processed"))) == [
        b"products_2_pris\xe5.csv",
        b"products_3.csv",
    ]


def test_a_name_with_glob_characters_is_read_as_itself(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "erp" / "products"
    _product_file(folder / "products_[1].csv", 1, 2)
    _product_file(folder / "products_1.csv", 3)
    outcomes = run_once(settings_for(home, LocalStoreSettings(root=tmp_path / "erp")), "products")
    assert [(o.name, o.outcome, o.counts.get("rows")) for o in outcomes] == [
        ("products_1.csv", "committed", 1),
        ("products_[1].csv", "committed", 2),
    ]

"""Which remote files count as complete, and how they come into the inbox."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from etl.contracts import SourceSpec
from etl.intake import Candidate, download, ready_files, settle_remote
from etl.settings import LocalStoreSettings
from etl.transport.local import LocalStore


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

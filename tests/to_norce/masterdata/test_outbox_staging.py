"""File mode: `outbox/norce/` shows only what committed runs delivered; a dead run's temp files go.

A run's calls are written to a staged folder and published when the run commits, like its
archive folder. A run killed before its commit leaves nothing in `outbox/norce/`, and the next
opening of the feed drops what it staged, also when the ERP has since replaced the file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Commit, Ledger
from etl.state.locks import feed_lock
from etl.to_norce.run import run_feed
from tests.support.masterdata import (
    local_settings_file,
    run_once,
    settings_for,
    signal_at_commit_point,
    start_products_once,
    write_cp1252_products,
)

ROWS = [
    "100123;ACME;Acme AB;AG-100-L;AG-100;Handske L;;GLOVES;7350000000016;25;0,12",
    "100124;ACME;Acme AB;AG-100-XL;AG-100;Handske XL;;GLOVES;7350000000023;25;0,13",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa;;LIGHTS;6410000000018;25;0,21",
]
# The export the killed run read: one change, one add, one removal against ROWS.
KILLED = [
    ROWS[0].replace("Handske L", "Handske Large"),
    ROWS[1],
    "100300;SAFE;Safe;SW-300;SW-300;Glasögon;;EYE;;25;0,05",
]
# What the ERP wrote over it afterwards, under the same name.
REPLACEMENT = [*ROWS, "100400;SAFE;Safe;SW-400;SW-400;Hjälm;;HEAD;;25;0,90"]


def _clean_run(home: Path, erp: Path) -> None:
    run = start_products_once(local_settings_file(home, erp, 0), home)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err


def _outbox(home: Path) -> dict[str, bytes]:
    """Every file under `outbox/norce/`, by its path there."""
    root = home / "outbox" / "norce"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _batch(export: Path) -> str:
    """The batch folder a run of this export delivers to: `<stem>-<sha256[:12]>`."""
    return f"{export.stem}-{hashlib.sha256(export.read_bytes()).hexdigest()[:12]}"


def _kill_a_run_at_its_commit_point(home: Path, erp: Path) -> dict[str, bytes]:
    """A committed first export, then a real run of a second one SIGKILLed after delivery."""
    write_cp1252_products(erp / "products" / "products_1.csv", ROWS)
    _clean_run(home, erp)
    before = _outbox(home)
    write_cp1252_products(erp / "products" / "products_2.csv", KILLED)
    killed = start_products_once(local_settings_file(home, erp, 30), home)
    signal_at_commit_point(killed, signal.SIGKILL)
    killed.wait(timeout=10)
    return before


@pytest.mark.slow
def test_a_run_killed_before_commit_leaves_nothing_in_the_outbox(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    before = _kill_a_run_at_its_commit_point(home, erp)
    ledger = Ledger(home / "state" / "ledger.sqlite")
    assert [r.outcome for r in ledger.runs("products")] == ["running", "committed"]
    ledger.close()
    assert _outbox(home) == before  # delivered, but not committed: not shown


@pytest.mark.slow
def test_the_next_run_publishes_only_the_replacing_files_batch(home: Path, tmp_path: Path) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    before = _kill_a_run_at_its_commit_point(home, erp)
    killed_batch = _batch(erp / "products" / "products_2.csv")
    time.sleep(0.01)  # a new mtime, as a real rewrite has
    write_cp1252_products(erp / "products" / "products_2.csv", REPLACEMENT)
    _clean_run(home, erp)

    ledger = Ledger(home / "state" / "ledger.sqlite")
    runs = ledger.runs("products")
    ledger.close()
    assert [r.outcome for r in runs] == ["committed", "interrupted", "committed"]
    assert (runs[0].counts["adds"], runs[0].counts["changes"]) == (1, 0)
    new = {k.split("/")[1] for k in _outbox(home) if k not in before}
    assert new == {_batch(erp / "products" / "processed" / "products_2.csv")}
    assert killed_batch not in new
    assert not list((home / "outbox").rglob(f"*{killed_batch}*"))  # not staged either


class DiesAfterCommit(Ledger):
    """A ledger whose process 'dies' right after the commit transaction."""

    def commit(self, c: Commit) -> None:
        super().commit(c)
        if c.outcome == "committed":
            raise KeyboardInterrupt("killed after commit")


def test_a_batch_committed_but_not_yet_published_is_published_by_the_next_opening(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    write_cp1252_products(erp / "products" / "products_1.csv", ROWS)
    batch = _batch(erp / "products" / "products_1.csv")
    settings = settings_for(home, LocalStoreSettings(root=erp))
    rt = Runtime.open(settings, sleep=lambda s: None)
    rt.ledger.close()
    rt.ledger = DiesAfterCommit(rt.ledger.at)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_feed(rt, load_contracts(settings)["products"])
    finally:
        rt.close()

    [again] = run_once(settings, "products")
    assert again.outcome == "skipped", again  # committed before it died: only tidied up
    published = {k.split("/")[1] for k in _outbox(home)}
    assert published == {batch}
    assert (
        home / "outbox" / "norce" / "products" / batch / "0001-ImportProducts-add.json"
    ).exists()
    assert not [p for p in (home / "archive" / "products").rglob(".*") if p.is_dir()]


def _plant(path: Path, *, folder: bool = False) -> Path:
    if folder:
        (path / "1").mkdir(parents=True)
        (path / "1" / "data.csv").write_bytes(b"half")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    return path


def _dead_runs_leftovers(home: Path) -> list[Path]:
    """What a run of `products` killed at various points leaves behind, by its writers."""
    state, inbox = home / "state", home / "inbox" / "products"
    outbox = home / "outbox" / "norce" / "products"
    return [
        _plant(state / "snapshots" / "products" / ".20261120T100000000-products-x.parquet.part"),
        _plant(inbox / ".products_9.csv.part"),  # download
        _plant(inbox / ".products_9.csv.utf8"),  # re-encoded scratch copy
        _plant(inbox / ".products_9.csv.gz.k2j3abcd", folder=True),  # expanded archive
        _plant(outbox / "approve-20261120T100000000-products-x" / ".0001-x.json.part"),
    ]


def test_a_dead_runs_temp_files_are_swept_when_its_feed_opens_next(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    leftovers = _dead_runs_leftovers(home)
    waiting = _plant(home / "inbox" / "products" / "products_9.csv")  # fetched, not committed

    assert run_once(settings, "products") == []

    assert [p for p in leftovers if p.exists()] == []
    assert waiting.exists()


def test_temp_files_are_left_alone_while_another_run_holds_the_feed(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    leftovers = _dead_runs_leftovers(home)

    with feed_lock(home / "state" / "locks", "products") as taken:
        assert taken
        [skipped] = run_once(settings, "products")

    assert skipped.outcome == "skipped"
    assert [p for p in leftovers if not p.exists()] == []


def test_spool_temp_files_are_swept_at_start_once_no_write_can_still_be_going_on(
    home: Path, tmp_path: Path
) -> None:
    settings = settings_for(home, LocalStoreSettings(root=tmp_path / "drop"))
    spool = home / "state" / "spool"
    dead = [
        _plant(spool / "orders" / ".ORD-1-0123456789abcdef.json.4242.part"),
        _plant(spool / "parties" / ".event-1-0123456789abcdef.json.4243.part"),
    ]
    two_hours_ago = time.time() - 7200
    for path in dead:
        os.utime(path, (two_hours_ago, two_hours_ago))
    # Being written by the receiver right now, as far as anyone here can tell.
    fresh = _plant(spool / "orders" / ".ORD-2-0123456789abcdef.json.4244.part")
    body = _plant(spool / "orders" / "ORD-1-0123456789abcdef.json")
    os.utime(body, (two_hours_ago, two_hours_ago))

    Runtime.open(settings).close()

    assert [p for p in dead if p.exists()] == []
    assert fresh.exists() and body.exists()

"""`approve` on one machine while a run of the feed is about to commit on another.

Two homes stand for two machines (one PostgreSQL ledger, one bucket, each its own folders and
feed lock). Machine A's run is stopped at its commit point (the crash drill's pause, its sleep
held on an event) while machine B approves the held removals; then A commits. A's delta was
diffed against the snapshot the approval replaced: its commit must be refused, and the file
taken again against the approved snapshot, or the deactivated rows come back `held` and are
never reactivated in Norce.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt
from etl.to_norce.masterdata.approve import approve
from etl.to_norce.records import FileOutcome
from tests.support.masterdata import run_once
from tests.support.paused_runs import feed_run_in_thread, held_at_commit
from tests.support.s3 import S3Bucket
from tests.support.shared_homes import SAMPLE, erp_copy, shared_home

PAUSE = 7.25  # A's pause at the commit point: held on an event, never slept
ROWS = SAMPLE.read_bytes().decode("cp1252").splitlines()  # header and 10 articles
NEW = "100901;BRIGHT;Bright Lights Oy;BL-9001;BL-9001;Lykta 2;Lykta 2;LIGHTS;;25;0,91"


def _guarded(settings: Settings) -> Settings:
    """The home with a products guard that holds more than 1 removal (the sample has 7 valid rows)."""
    contract = settings.home / "schemas" / "products.toml"
    text = contract.read_text(encoding="utf-8")
    contract.write_text(text.replace("max_removals = 10", "max_removals = 1"), encoding="utf-8")
    return settings


def _export(erp: Path, name: str, lines: list[str]) -> None:
    (erp / "products" / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def _held_run(settings: Settings) -> str:
    """The run id of the feed's pending hold."""
    rt = Runtime.open(settings)
    try:
        pending = [h["run_id"] for h in rt.ledger.pending_holds() if h["feed"] == "products"]
    finally:
        rt.close()
    assert len(pending) == 1, pending
    return str(pending[0])


def _approve(settings: Settings, hold_run: str) -> str:
    rt = Runtime.open(settings)
    try:
        return approve(rt, load_contracts(settings), hold_run)
    finally:
        rt.close()


def test_approve_on_one_machine_while_a_run_of_the_feed_commits_on_another(
    tmp_path: Path,
    s3_bucket: S3Bucket,
    postgres_at: PostgresAt,
    caplog: pytest.LogCaptureFixture,
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = _guarded(shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn, pause=PAUSE))
    b = _guarded(shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn))
    run_once(b, "products")  # all 10 articles
    header, few = ROWS[0], ROWS[1:6]
    _export(erp, "products_20261122.csv", [header, *few])  # half of them gone: held
    [first_hold] = run_once(b, "products")
    held = first_hold.counts["held"]
    assert held >= 2, first_hold
    hold_run = _held_run(b)

    # Machine A takes the next file (one new article; the 5 still missing) and stops at commit.
    _export(erp, "products_20261123.csv", [header, *few, NEW])
    paused, go, stale = threading.Event(), threading.Event(), list[FileOutcome]()
    worker = feed_run_in_thread(a, "products", held_at_commit(PAUSE, paused, go), stale)
    assert paused.wait(60), "machine A's run never reached its commit"
    # Meanwhile machine B approves: the held articles are deactivated in Norce.
    _approve(b, hold_run)
    go.set()
    with caplog.at_level(logging.WARNING):
        worker.join(60)

    # A's delta was diffed against the snapshot the approval replaced: it must not commit.
    assert [o.outcome for o in stale] == ["failed"], stale
    assert "current snapshot changed" in stale[0].message
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # The ERP lists every article again: what the approval deactivated is reactivated.
    _export(erp, "products_20261124.csv", [*ROWS, NEW])
    again = run_once(b, "products")
    assert [o.outcome for o in again] == ["committed", "committed"], again
    assert sum(o.counts.get("reactivations", 0) for o in again) == held, again
    ledger = Ledger(postgres_at)
    try:
        assert not ledger.pending_holds()
    finally:
        ledger.close()

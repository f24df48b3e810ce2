"""Two workers on two machines take the same file: the one that commits second loses calmly.

Machine A's run stops at its commit point (the crash drill's pause, its sleep held on an
event) while machine B takes the same file and commits it. A's commit is then refused by
the ledger: an expected outcome with workers on several machines, so one WARNING line, no
traceback, no ERROR, and a `skipped` outcome rather than a failure.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt
from etl.to_norce.records import FileOutcome
from tests.support.masterdata import run_once
from tests.support.paused_runs import feed_run_in_thread, held_at_commit
from tests.support.s3 import S3Bucket
from tests.support.shared_homes import erp_copy, next_export, shared_home

PAUSE = 7.5  # A's pause at the commit point: held on an event, never slept


@pytest.mark.parametrize("earlier_runs", [0, 1], ids=["first-file", "next-file"])
def test_the_machine_that_commits_second_logs_one_warning_and_no_failure(
    earlier_runs: int,
    tmp_path: Path,
    s3_bucket: S3Bucket,
    postgres_at: PostgresAt,
    caplog: pytest.LogCaptureFixture,
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn, pause=PAUSE)
    b = shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn)
    if earlier_runs:  # then the race is on the next export, with a snapshot to diff against
        run_once(b, "products")
        next_export(erp)
    paused, go, lost = threading.Event(), threading.Event(), list[FileOutcome]()
    worker = feed_run_in_thread(a, "products", held_at_commit(PAUSE, paused, go), lost)
    assert paused.wait(60), "machine A's run never reached its commit"
    won = run_once(b, "products")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        go.set()
        worker.join(60)

    assert [o.outcome for o in won] == ["committed"]
    assert [o.outcome for o in lost] == ["skipped"], lost
    assert f"another machine committed this file first (run {won[0].run_id})" in lost[0].message
    ours = [r for r in caplog.records if r.name.startswith("etl.")]
    assert not [r for r in ours if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert [r.levelname for r in ours if "another machine committed" in r.getMessage()] == [
        "WARNING"
    ]
    ledger = Ledger(postgres_at)
    try:
        loser = ledger.run(str(lost[0].run_id))
        assert loser is not None and loser.outcome == "duplicate"
    finally:
        ledger.close()

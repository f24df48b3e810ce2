"""The ledger's run records: a run that committed stays committed, whatever fails after."""

from __future__ import annotations

from pathlib import Path

from etl.state.ledger.feed_runs import Commit, Ledger


def test_a_failure_after_the_commit_never_unmakes_it(tmp_path: Path) -> None:
    # A run whose tidying up raised after its commit: the flow records a failure, but the
    # snapshot, file and archive already moved on, so the run must still read as committed
    # (else the archive's recovery would drop the folder of a run that did commit).
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        ledger.start_run("r1", "products", "file", "2026-12-06T10:00:00+00:00", "p.csv", "abc")
        ledger.commit(
            Commit("r1", "products", "committed", "2026-12-06T10:00:01+00:00", {}, [], "a/r1")
        )
        ledger.fail_run("r1", "2026-12-06T10:00:02+00:00", "failed", "unexpected error")
        [run] = ledger.runs("products")
    finally:
        ledger.close()
    assert run.outcome == "committed"

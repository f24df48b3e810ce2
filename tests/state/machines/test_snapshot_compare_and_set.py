"""The snapshot pointer is a compare-and-set: a commit moves it only from the base it diffed.

On both ledgers (SQLite, and PostgreSQL as several machines share it): a commit whose base is
no longer current writes nothing; a run's commit while an approval of the feed is under way
writes nothing (the approval's own commit goes through); of two commits racing from one base
on two connections, exactly one wins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.state.ledger.base import Commit, SnapshotMoved
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.feed_runs import Ledger
from tests.support.postgres import emptied_ledger

FEED = "products"
STAMP = "2026-12-01T02:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerAt]:
    """An empty ledger of each backend in turn."""
    if request.param == "sqlite":
        yield tmp_path / "state" / "ledger.sqlite"
    else:
        with emptied_ledger(request.getfixturevalue("postgres_uri")) as at:
            yield at


def _run(ledger: Ledger, run_id: str, kind: str = "file") -> None:
    ledger.start_run(run_id, FEED, kind, STAMP, None, None)


def _commit(
    run_id: str,
    base: str | None,
    hold: tuple[int, str] | None = None,
    released_hold: str | None = None,
) -> Commit:
    """A run's commit of snapshot `<run_id>.parquet`, diffed against `base`."""
    snapshot = (f"{FEED}/{run_id}.parquet", 1)
    return Commit(
        run_id,
        FEED,
        "committed",
        STAMP,
        {},
        [],
        None,
        snapshot=snapshot,
        hold=hold,
        released_hold=released_hold,
        checks_base=True,
        base=base,
    )


def test_a_commit_from_a_base_that_moved_writes_nothing(ledger_at: LedgerAt) -> None:
    ledger = Ledger(ledger_at)
    try:
        for run_id in ("r1", "r2", "r3"):
            _run(ledger, run_id)
        ledger.commit(_commit("r1", None))
        with pytest.raises(SnapshotMoved, match="it diffed against None"):
            ledger.commit(_commit("r2", None))  # diffed against no snapshot: r1's is current
        ledger.commit(_commit("r3", f"{FEED}/r1.parquet"))

        assert ledger.current_snapshot(FEED) == (f"{FEED}/r3.parquet", "r3", 1)
        assert ledger.run("r2").outcome == "running"  # type: ignore[union-attr]
    finally:
        ledger.close()


def test_a_run_cannot_commit_while_an_approval_of_its_feed_is_under_way(
    ledger_at: LedgerAt,
) -> None:
    ledger = Ledger(ledger_at)
    try:
        _run(ledger, "held")
        ledger.commit(_commit("held", None, hold=(3, "3 removals")))
        ledger.set_hold_state("held", "approving", STAMP)
        _run(ledger, "run")
        _run(ledger, "approval", kind="approve")
        base = f"{FEED}/held.parquet"
        with pytest.raises(SnapshotMoved, match="approval of run held is under way"):
            ledger.commit(_commit("run", base))
        ledger.commit(_commit("approval", base, released_hold="held"))

        assert ledger.current_snapshot(FEED) == (f"{FEED}/approval.parquet", "approval", 1)
        assert ledger.hold("held")["state"] == "approved"  # type: ignore[index]
    finally:
        ledger.close()


def test_of_two_commits_racing_from_one_base_exactly_one_wins(ledger_at: LedgerAt) -> None:
    first = Ledger(ledger_at)
    _run(first, "base")
    first.commit(_commit("base", None))
    ledgers = {"r1": first, "r2": Ledger(ledger_at)}  # two connections: two machines
    for run_id, ledger in ledgers.items():
        _run(ledger, run_id)
    ready, ended = threading.Barrier(2), dict[str, str]()

    def commit_as(run_id: str) -> None:
        ready.wait()
        try:
            ledgers[run_id].commit(_commit(run_id, f"{FEED}/base.parquet"))
            ended[run_id] = "won"
        except SnapshotMoved:
            ended[run_id] = "lost"

    threads = [threading.Thread(target=commit_as, args=(r,)) for r in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(ended.values()) == ["lost", "won"]
        [winner] = [r for r, how in ended.items() if how == "won"]
        assert first.current_snapshot(FEED) == (f"{FEED}/{winner}.parquet", winner, 1)
    finally:
        for ledger in ledgers.values():
            ledger.close()


def test_an_approval_cannot_claim_a_hold_a_run_superseded_meanwhile(ledger_at: LedgerAt) -> None:
    ledger = Ledger(ledger_at)
    try:
        for run_id in ("old", "new"):
            _run(ledger, run_id)
        ledger.commit(_commit("old", None, hold=(3, "3 removals")))
        # Another machine's run commits its own hold between the approval's look and claim.
        ledger.commit(_commit("new", f"{FEED}/old.parquet", hold=(4, "4 removals")))

        assert not ledger.claim_approval("old", STAMP)
        assert ledger.hold("old")["state"] == "superseded"  # type: ignore[index]
        assert ledger.claim_approval("new", STAMP)
        assert ledger.hold("new")["state"] == "approving"  # type: ignore[index]
    finally:
        ledger.close()

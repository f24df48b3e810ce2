"""The ledger's small parts behave the same on SQLite and PostgreSQL.

Job outcomes, heartbeats, poll watermarks and arrivals each keep a table of the ledger; every
test runs on both backends (`ledger_at`), with two connections where processes share a row.
"""

from __future__ import annotations

import datetime as dt
import threading

from etl.console.metrics import RunTotals
from etl.state.ledger.arrivals import Arrivals
from etl.state.ledger.base import Commit
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.heartbeats import Heartbeat, Heartbeats
from etl.state.ledger.job_outcomes import JobOutcome, JobOutcomes
from etl.state.ledger.watermarks import Watermarks

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def test_a_failing_streak_keeps_its_start_and_an_ok_ends_it(ledger_at: LedgerAt) -> None:
    outcomes = JobOutcomes(ledger_at)
    try:
        outcomes.record("orders<-norce", "ok", "ignored when ok", _at(0))
        outcomes.record("orders<-norce", "failed", "token refused", _at(5))
        outcomes.record("orders<-norce", "failed", "timeout", _at(10))
        assert outcomes.latest() == [
            JobOutcome("orders<-norce", "failed", "timeout", _at(10), _at(5), _at(0))
        ]
        outcomes.record("orders<-norce", "ok", "", _at(15))
        assert outcomes.of("orders<-norce") == JobOutcome(
            "orders<-norce", "ok", "", _at(15), None, _at(15)
        )
        assert outcomes.of("nobody") is None
    finally:
        outcomes.close()


def test_a_heartbeat_is_seen_by_another_connection_and_a_stop_is_kept(
    ledger_at: LedgerAt,
) -> None:
    receiver, console = Heartbeats(ledger_at), Heartbeats(ledger_at)
    try:
        receiver.beat("receiver", T0, 4711, "vm-1")
        receiver.stopped("receiver", T0 + dt.timedelta(minutes=1))
        stop = T0 + dt.timedelta(minutes=1)
        assert console.all() == {
            "receiver": Heartbeat("receiver", T0, 4711, "vm-1", stop, "receiver")
        }
        # A worker beating for the scheduler: the row says a worker wrote it.
        receiver.beat("receiver", T0 + dt.timedelta(minutes=2), 4712, "vm-2", "worker")
        assert console.all()["receiver"] == Heartbeat(
            "receiver", T0 + dt.timedelta(minutes=2), 4712, "vm-2", None, "worker"
        )
    finally:
        receiver.close()
        console.close()


def test_a_watermark_only_moves_forward_whoever_advances_it(ledger_at: LedgerAt) -> None:
    marks = [Watermarks(ledger_at) for _ in range(4)]
    start = threading.Barrier(len(marks))
    times = [T0 + dt.timedelta(minutes=m) for m in (3, 9, 1, 5)]

    def advance(i: int) -> None:
        start.wait()
        marks[i].advance("orders", times[i], T0, 10)

    threads = [threading.Thread(target=advance, args=(i,)) for i in range(len(marks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert marks[0].get("orders") == T0 + dt.timedelta(minutes=9)
        assert marks[0].advance("orders", T0, T0, 1) == T0 + dt.timedelta(minutes=9)
        assert marks[0].get("other") is None
    finally:
        for mark in marks:
            mark.close()


def test_arrivals_are_the_files_runs_finished_oldest_first(ledger_at: LedgerAt) -> None:
    ledger = Ledger(ledger_at)
    try:
        for n, kind in enumerate(["file", "file", "replay"]):
            run_id, sha = f"r{n}", f"{n}" * 64
            ledger.start_run(run_id, "prices", kind, _at(10 * n), f"p{n}.csv", sha)
            listing = (sha, f"p{n}.csv", 10, (T0 + dt.timedelta(minutes=10 * n - 2)).timestamp())
            ledger.commit(
                Commit(run_id, "prices", "committed", _at(10 * n + 1), {}, [], None, file=listing)
            )
    finally:
        ledger.close()
    arrivals = Arrivals(ledger_at)
    try:
        # Each came at its mtime, two minutes before its run; the replay is no arrival.
        assert arrivals.recent("prices") == [
            T0 - dt.timedelta(minutes=2),
            T0 + dt.timedelta(minutes=8),
        ]
        assert arrivals.recent("prices", limit=1) == [T0 + dt.timedelta(minutes=8)]
    finally:
        arrivals.close()


def test_run_totals_for_metrics_sum_each_feeds_counts(ledger_at: LedgerAt) -> None:
    ledger = Ledger(ledger_at)
    try:
        for n, (feed, outcome, counts) in enumerate(
            [
                ("products", "failed", {"rows": 10, "rejected": 2}),
                ("products", "failed", {"rows": 5, "adds": 3}),
                ("prices", "failed", {}),
            ]
        ):
            ledger.start_run(f"r{n}", feed, "file", _at(n), None, None)
            ledger.fail_run(f"r{n}", _at(n), outcome, "boom", counts)
    finally:
        ledger.close()
    totals = RunTotals(ledger_at)
    try:
        found = {
            (m.name, tuple(s.labels.values())): s.value for m in totals.metrics() for s in m.samples
        }
    finally:
        totals.close()
    assert found[("etl_runs", ("products", "failed"))] == 2
    assert found[("etl_rows", ("products", "failed"))] == 15
    assert found[("etl_rejected_rows", ("products", "failed"))] == 2
    assert found[("etl_delta_rows", ("products", "failed", "adds"))] == 3
    assert found[("etl_failed_runs", ("prices",))] == 1

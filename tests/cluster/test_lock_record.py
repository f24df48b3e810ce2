"""The cluster's record of who held which lock when: read from the workers' logs, and the
overlap check the proof relies on finds two runs of one lock at the same moment."""

from __future__ import annotations

import datetime as dt

from tests.support.cluster_workers import held_locks, overlaps

FIRST = """\
2026-12-07 05:22:09,571 INFO    etl.worker.tasks: products: started (lock feeds:products+prices)
2026-12-07 05:22:10,100 INFO    etl.worker.tasks: invoices: started (lock feeds:invoices)
2026-12-07 05:22:11,000 INFO    etl.worker.tasks: products: ended (lock feeds:products+prices)
2026-12-07 05:22:12,000 INFO    etl.worker.tasks: invoices: ended (lock feeds:invoices)
"""


def _log(job: str, lock: str, start: str, end: str | None) -> str:
    line = "2026-12-07 {} INFO    etl.worker.tasks: {}: {} (lock {})\n"
    text = line.format(start, job, "started", lock)
    return text + (line.format(end, job, "ended", lock) if end else "")


def test_runs_of_one_family_at_the_same_moment_are_found_whichever_job() -> None:
    # prices runs products first: another job of the same family, on another worker.
    second = _log("prices", "feeds:products+prices", "05:22:10,900", "05:22:13,000")
    found = overlaps(held_locks(FIRST) + held_locks(second))
    assert [(a.job, b.job) for a, b in found] == [("products", "prices")]


def test_runs_one_after_the_other_and_other_families_do_not_overlap() -> None:
    after = _log("prices", "feeds:products+prices", "05:22:11,001", "05:22:13,000")
    other = _log("stock", "feeds:stock", "05:22:09,000", "05:22:20,000")
    assert overlaps(held_locks(FIRST) + held_locks(after) + held_locks(other)) == []


def test_a_killed_workers_run_holds_its_lock_until_the_kill() -> None:
    killed_at = dt.datetime(2026, 12, 7, 5, 22, 15)
    victim = held_locks(_log("stock", "feeds:stock", "05:22:14,000", None), killed_at)
    assert [(h.job, h.end) for h in victim] == [("stock", killed_at)]
    early = _log("stock", "feeds:stock", "05:22:14,500", "05:22:16,000")
    assert len(overlaps(victim + held_locks(early))) == 1
    late = _log("stock", "feeds:stock", "05:22:15,100", "05:22:16,000")
    assert overlaps(victim + held_locks(late)) == []

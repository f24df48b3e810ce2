"""How each job of a pass last ended, in the ledger: the failures no file run records.

A feed's file runs are in `runs`, but a failure before any file (the SFTP server refuses, an
interrupted approval cannot be finished), the order poll, the order and party exports and a
job that crashed leave nothing there. `run_jobs` (`once`) and the scheduler's job wrapper
record every job's ending here, so `status` and the problems see it, and see it end: a later
`ok` clears `failing_since`. One row per job name; its table (job_outcomes) is created by
etl.state.ledger.migrations.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from etl.state.ledger.connection import Tables

OK = "ok"
FAILED = "failed"
STUCK = "stuck"  # an export an earlier run began that a person must look at


@dataclass(frozen=True)
class JobOutcome:
    """A job's last ending: `ok`, `failed` or `stuck`, since when it fails, when it was last ok."""

    job: str
    outcome: str
    message: str  # what the job said when it did not end ok ("" when ok)
    at: str  # when it last ended (ISO-8601 UTC)
    failing_since: str | None  # the first of the endings not ok in a row; None when ok
    last_ok: str | None


class JobOutcomes(Tables):
    """The job_outcomes table: one row per job, rewritten at each of its endings."""

    def record(self, job: str, outcome: str, message: str, at: str) -> None:
        """The job ended `outcome` at `at`; an ending not ok keeps the first such time."""
        ok = outcome == OK
        with self._tx() as db:
            db.execute(
                "INSERT INTO job_outcomes (job, outcome, message, at, failing_since, last_ok) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (job) DO UPDATE SET outcome=excluded.outcome, "
                "message=excluded.message, at=excluded.at, "
                "failing_since=CASE WHEN excluded.outcome='ok' THEN NULL "
                "ELSE COALESCE(job_outcomes.failing_since, excluded.at) END, "
                "last_ok=COALESCE(excluded.last_ok, job_outcomes.last_ok)",
                (job, outcome, "" if ok else message, at, None if ok else at, at if ok else None),
            )

    def latest(self) -> list[JobOutcome]:
        """Every job's last ending, by job name."""
        rows = self._db.execute("SELECT * FROM job_outcomes ORDER BY job")
        return [_outcome(r) for r in rows]

    def of(self, job: str) -> JobOutcome | None:
        """`job`'s last ending; None when it never ended."""
        row = self._db.execute("SELECT * FROM job_outcomes WHERE job=?", (job,)).fetchone()
        return None if row is None else _outcome(row)


def _outcome(r: sqlite3.Row) -> JobOutcome:
    return JobOutcome(
        r["job"], r["outcome"], r["message"], r["at"], r["failing_since"], r["last_ok"]
    )

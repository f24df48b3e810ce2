"""Problems of kind `failed` and `export_stuck`: a feed's last run, or any job, did not end ok.

A feed's file runs are in the ledger's `runs`; everything else a job does (the order poll,
the exports, a listing that never got to a file, a crash) is in `job_outcomes`. A feed's
failure lasts until a later run of it commits or its job ends ok after the failed run: a
server that answers again with no new file resolves it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import takewhile

from etl.config.contracts import FeedContract
from etl.console.problems import Problem
from etl.state.ledger.base import FeedLedger, RunRow
from etl.state.ledger.job_outcomes import FAILED, OK, STUCK, JobOutcome
from etl.transport.names import one_line

MESSAGE_CHARS = 500  # a failure's reason comes after the store's prefix: keep most of it
_RUNS_LOOKED_AT = 50  # how far back a failing streak is followed for its start


def failure_problems(
    ledger: FeedLedger, contracts: dict[str, FeedContract], outcomes: Iterable[JobOutcome]
) -> list[Problem]:
    """One `failed` problem per feed or job that failed last, one `export_stuck` per export."""
    jobs = {o.job: o for o in outcomes}
    found: list[Problem] = []
    covered: set[str] = set()  # jobs whose failure a feed's failed run already tells
    for contract in contracts.values():
        job = job_of(contract)
        problem = _feed_failure(ledger, contract.name, job, jobs.get(job))
        if problem is not None:
            found.append(problem)
            covered.add(job)
    for outcome in jobs.values():
        if outcome.outcome == STUCK:
            found.append(_stuck(outcome))
        elif outcome.outcome == FAILED and _untold(outcome.job, covered, contracts):
            found.append(_job_failed(outcome, outcome.job in contracts))
    return found


def _untold(job: str, covered: set[str], contracts: dict[str, FeedContract]) -> bool:
    """A failed job no feed's failed run tells of; a feed since removed is left out."""
    return job not in covered and (job in contracts or not _is_feed_job(job))


def job_of(contract: FeedContract) -> str:
    """The job that runs a feed: its own, or the one of the feed whose files it reads."""
    return contract.source.from_feed or contract.name


def _is_feed_job(job: str) -> bool:
    """Feed jobs are named after the feed; the poll, exports and purge have other names."""
    return "->" not in job and "<-" not in job and job != "purge"


def _feed_failure(
    ledger: FeedLedger, feed: str, job: str, outcome: JobOutcome | None
) -> Problem | None:
    runs = ledger.runs(feed, _RUNS_LOOKED_AT)
    if not runs or runs[0].outcome != "failed":
        return None
    latest = runs[0]
    if outcome is not None and outcome.outcome == OK and outcome.at >= _ended(latest):
        return None  # the job ran fine since: the server answers again, nothing was waiting
    streak = list(takewhile(lambda r: r.outcome == "failed", runs))
    return Problem(
        key=f"failed:{feed}",
        kind="failed",
        subject=f"feed {feed}",
        what=f"the last run failed ({latest.run_id}): {_short(latest.message or '')}",
        did="committed nothing: the file stays on the server and the snapshot as it was; "
        "the next run tries again",
        command=f"run.py once --feed {job}",
        since=streak[-1].started_at,
    )


def _ended(run: RunRow) -> str:
    return run.finished_at or run.started_at


def _job_failed(outcome: JobOutcome, is_feed: bool) -> Problem:
    return Problem(
        key=f"failed:{outcome.job}",
        kind="failed",
        subject=f"{'feed' if is_feed else 'job'} {outcome.job}",
        what=f"the last run failed: {_short(outcome.message)}",
        did="kept everything where it was; the next run tries again",
        command=f"run.py once --feed {outcome.job}" if is_feed else None,
        since=outcome.failing_since or outcome.at,
    )


def _stuck(outcome: JobOutcome) -> Problem:
    return Problem(
        key=f"export-stuck:{outcome.job}",
        kind="export_stuck",
        subject=f"export {outcome.job}",
        what=f"an export cannot be finished: {_short(outcome.message)}",
        did="left the export unfinished and uploaded nothing over it; the next run settles "
        "it once the cause is cleared (the log says why)",
        command=None,
        since=outcome.failing_since or outcome.at,
    )


def _short(message: str) -> str:
    return one_line(message)[:MESSAGE_CHARS]

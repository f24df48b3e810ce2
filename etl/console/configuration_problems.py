"""The configuration problem: the last start could not load the feed contracts or layouts.

Recorded as the job `configuration` (etl.configuration_alert) by `once`, the scheduler's start
and `status`; it lasts until a start whose contracts and layouts load. A process that loaded
them earlier (the receiver, or `status` after the file was fixed but before a new start) still
lists it: the scheduler that failed to start is not running the feeds.
"""

from __future__ import annotations

from etl.console.problems import Problem
from etl.state.ledger.job_outcomes import FAILED, JobOutcome

CONFIGURATION = "configuration"  # the job outcome's name
KEY = f"failed:{CONFIGURATION}"  # the problem's key, as every failed job's
SHOWN_BY = "run.py feeds"  # loads the contracts and names the file and key that are wrong


def configuration_problems(last: JobOutcome | None) -> list[Problem]:
    """The configuration problem while the last start failed on it; else none."""
    if last is None or last.outcome != FAILED:
        return []
    return [configuration_problem(last.message, last.failing_since or last.at)]


def configuration_problem(message: str, since: str) -> Problem:
    """The problem of contracts or layouts that do not load, with the loader's message."""
    return Problem(
        key=KEY,
        kind="failed",
        subject="the configuration",
        what=f"the feed contracts or layouts do not load: {message}",
        did="nothing ran (no feed, poll or export) until the file is fixed; fix the file",
        command=SHOWN_BY,
        since=since,
    )


def unreadable_now(message: str, since: str) -> Problem:
    """What `status` shows when it cannot read the contracts: it records and alerts nothing.

    A scheduler already running keeps the contracts it loaded; only a start (`once`, the
    scheduler) that fails on them is "nothing ran", recorded and alerted.
    """
    return Problem(
        key=KEY,
        kind="failed",
        subject="the configuration",
        what=f"the feed contracts or layouts do not load: {message}",
        did="nothing yet: a running scheduler keeps the contracts it loaded at its start; "
        "the next start or `once` refuses to run until the file is fixed",
        command=SHOWN_BY,
        since=since,
    )

"""What one pass is: every feed in run order, the order poll, each order and party export.

`run.py once` runs a pass's jobs one after another and prints what each says; the scheduler
gives each job a trigger of its own and runs it on its own thread. Both take the list from
here, so the two cannot drift apart (a job added here runs in both).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from etl.config.contracts import FeedContract
from etl.config.run_order import order_of_runs, runs_with
from etl.config.schedule import ScheduleSpec
from etl.config.settings import Settings
from etl.errors import UNEXPECTED, EtlError, Panicked
from etl.retention.purge import purge_all
from etl.runtime import Runtime
from etl.state.ledger.job_outcomes import FAILED, OK, STUCK, JobOutcomes
from etl.to_erp.files.layouts import Layout, load_layouts
from etl.to_erp.orders.jobs import describe_export, export_once, poll_once, polls
from etl.to_erp.parties.jobs import export_parties_once, forgotten_note, party_layouts
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import run_feed
from etl.transport.names import one_line, printable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobReport:
    """What one job did: the lines `once` prints, and the outcomes that set its exit code."""

    lines: tuple[str, ...]
    outcomes: frozenset[str] = field(default_factory=frozenset)  # "failed", "rejected", ...


@dataclass(frozen=True)
class Job:
    """One job of a pass: its name in logs and the scheduler, when it runs, what it does."""

    name: str
    # A feed's or a layout's own schedule; the poll runs every N minutes of the settings.
    schedule: ScheduleSpec
    run: Callable[[Runtime, threading.Event | None], JobReport]


def feed_jobs(contracts: dict[str, FeedContract], *, scheduled: bool) -> list[Job]:
    """A job per feed that picks up files, in run order (a `from_feed` feed runs in its file's).

    A scheduled job runs the feeds its feed references first, so a contact file is checked
    against the companies that arrived with it whichever schedule fires first; in a pass of
    `once` those feeds have just run in order, so each feed runs once.
    """
    return [
        feed_job(contract, runs_with(contract, contracts) if scheduled else [contract])
        for contract in order_of_runs(contracts)
    ]


def feed_job(contract: FeedContract, feeds: list[FeedContract]) -> Job:
    """The job of one feed: `feeds` (the feed itself, maybe after those it references) run."""
    return Job(contract.name, contract.schedule, _feeds_run(feeds))


def erp_jobs(rt: Runtime) -> list[Job]:
    """Norce -> ERP: the order poll (when configured), then each order and party layout."""
    jobs: list[Job] = []
    if polls(rt):
        every = ScheduleSpec(interval_minutes=rt.settings.orders.poll_interval_minutes)
        jobs.append(Job("orders<-norce", every, _poll))
    for layout in load_layouts(rt.settings).values():
        jobs.append(Job(f"orders->{layout.name}", layout.contract.schedule, _orders_to(layout)))
    return [*jobs, *party_jobs(rt)]


def party_jobs(rt: Runtime) -> list[Job]:
    """A job per party layout: the changed customers or companies to the ERP."""
    return [
        Job(
            f"{layout.subject.plural}->{layout.name}", layout.contract.schedule, _parties_to(layout)
        )
        for layout in party_layouts(rt.settings).values()
    ]


def purge_job(settings: Settings, contracts: dict[str, FeedContract]) -> Job | None:
    """`run.py purge` as a job, on `[archive] purge_at` (daily, UTC) or `purge_every_hours`."""
    archive = settings.archive
    if archive.purge_at is not None:
        hour, minute = archive.purge_at.split(":")
        when = ScheduleSpec(cron=f"{int(minute)} {int(hour)} * * *")
    elif archive.purge_every_hours is not None:
        when = ScheduleSpec(interval_minutes=archive.purge_every_hours * 60)
    else:
        return None

    def run(rt: Runtime, _stop: threading.Event | None) -> JobReport:
        # By the runtime's clock; its one-line summary goes to the log.
        purge_all(rt.settings, contracts, rt.clock())
        return JobReport(())

    return Job("purge", when, run)


def run_jobs(
    rt: Runtime, jobs: Iterable[Job], emit: Callable[[str], object] | None = None
) -> JobReport:
    """Run jobs one after another (as `once` does): every line, every outcome.

    Each job's lines go to `emit` as soon as it ends, so what was committed before a later
    job fails (or the operator presses Ctrl-C) has been said.
    """
    lines: list[str] = []
    outcomes: set[str] = set()
    for job in jobs:
        report = run_recorded(rt, job, None)
        if emit is not None:
            for line in report.lines:
                emit(line)
        lines += report.lines
        outcomes |= report.outcomes
    return JobReport(tuple(lines), frozenset(outcomes))


def run_in_own_runtime(rt: Runtime, job: Job, stop: threading.Event | None) -> None:
    """One job on a thread of its own, with connections of its own; an error waits a tick.

    What the scheduler and `run.py worker` run for each job.
    """
    own = rt.fork()
    try:
        run_recorded(own, job, stop)  # how it ended goes to the ledger, for `status`
    except Exception:
        log.exception("%s: job ended with an unexpected error; the next tick retries", job.name)
    finally:
        own.close()


def run_recorded(rt: Runtime, job: Job, stop: threading.Event | None) -> JobReport:
    """Run one job and record how it ended in the ledger (job_outcomes), a crash too."""
    try:
        report = job.run(rt, stop)
    except UNEXPECTED as exc:
        _record(rt, job.name, FAILED, f"unexpected error: {exc!r}")
        if isinstance(exc, Exception):
            raise
        raise Panicked(f"{job.name}: {exc}") from exc  # so `except Exception` stops it
    outcome = STUCK if "stuck" in report.outcomes else FAILED if "failed" in report.outcomes else OK
    # The lines that say what went wrong; a feed job's committed files are not the news.
    trouble = [line for line in report.lines if "fail" in line.lower() or "STUCK" in line]
    _record(rt, job.name, outcome, " | ".join(trouble or report.lines))
    return report


def _record(rt: Runtime, job: str, outcome: str, message: str) -> None:
    outcomes = JobOutcomes(rt.ledger.at)
    try:
        outcomes.record(job, outcome, message, rt.stamp())
    finally:
        outcomes.close()


def chosen_feeds(contracts: dict[str, FeedContract], feed: str | None) -> list[FeedContract]:
    """The feeds a pass runs, in order; or the one asked for, when it picks up files itself."""
    if feed is None:
        return order_of_runs(contracts)
    if feed not in contracts:
        raise EtlError(f"no feed {feed!r}; known feeds: {', '.join(contracts)}")
    parent = contracts[feed].source.from_feed
    if parent is not None:
        raise EtlError(f"feed {feed!r} reads the files of feed {parent!r}: use --feed {parent}")
    return [contracts[feed]]


def one_pass(rt: Runtime, contracts: dict[str, FeedContract]) -> Iterator[Job]:
    """Every job of a pass, in the order `once` runs them: ERP files first, then Norce's side.

    Norce's side is made only when the feeds are done: a broken order layout stops the pass
    there, not before the ERP's files were taken.
    """
    yield from feed_jobs(contracts, scheduled=False)
    yield from erp_jobs(rt)


def _feeds_run(feeds: list[FeedContract]) -> Callable[[Runtime, threading.Event | None], JobReport]:
    def run(rt: Runtime, stop: threading.Event | None) -> JobReport:
        lines: list[str] = []
        outcomes: set[str] = set()
        for contract in feeds:
            done = run_feed(rt, contract, stop)
            if not done:
                lines.append(f"{contract.name}: no complete files waiting")
            lines += [_file_line(o) for o in done]
            outcomes |= {o.outcome for o in done}
        return JobReport(tuple(lines), frozenset(outcomes))

    return run


def _file_line(outcome: FileOutcome) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in outcome.counts.items())
    return (
        f"{outcome.feed}: {printable(outcome.name)}: {outcome.outcome}"
        + (f" ({counts})" if counts else "")
        + (f": {one_line(outcome.message)}" if outcome.message else "")
    )


def _poll(rt: Runtime, _stop: threading.Event | None) -> JobReport:
    try:
        summary = poll_once(rt)
    except EtlError as exc:
        # The scheduler keeps no report: the log is where a failed poll is seen.
        log.error("orders <- Norce Query: the poll failed, the next tick retries: %s", exc)
        return JobReport((f"orders <- Norce Query: FAILED: {exc}",), frozenset({"failed"}))
    return JobReport((f"orders <- Norce Query: {summary.read} read, {summary.spooled} new",))


def _orders_to(layout: Layout) -> Callable[[Runtime, threading.Event | None], JobReport]:
    def run(rt: Runtime, _stop: threading.Event | None) -> JobReport:
        export = export_once(rt, layout)
        return JobReport((describe_export(export),), _trouble(export.error, export.stuck))

    return run


def _parties_to(layout: Layout) -> Callable[[Runtime, threading.Event | None], JobReport]:
    def run(rt: Runtime, _stop: threading.Event | None) -> JobReport:
        summary = export_parties_once(rt, layout)
        line = describe_export(summary, layout.subject.plural) + forgotten_note(summary.forgotten)
        return JobReport((line,), _trouble(summary.error, summary.stuck))

    return run


def _trouble(error: str | None, stuck: list[str]) -> frozenset[str]:
    """An export's outcomes: `failed` (exit code 1) when it stopped or is stuck, and `stuck`."""
    return frozenset({"failed"} if error else set()) | frozenset(
        {"failed", "stuck"} if stuck else set()
    )

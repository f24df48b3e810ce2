"""Where alerts run: a job of the scheduler (or of the workers: one run per tick across all of
them, etl.worker.tasks), the end of `once`, a thread beside the receiver.

A module of its own above etl.alerts (sending) and etl.console (finding problems): the page
in etl.console reads the alert book, so etl.alerts imports nothing of etl.console.

The scheduler's job and the receiver's thread each write their process's heartbeat first,
then look for problems (the other's stale heartbeat among them) and send what is due. So
when the scheduler dies, the receiver says so, and the other way round. Nothing here ever
fails a run: an alerts pass that breaks is logged and tried again on the next tick.

Each tick (and, under workers, each job's start) also publishes what this machine's runs
committed but could not upload to the bucket (`publish_staged`): with procrastinate spreading
the jobs, the feed's next run on this machine, which used to do it, may never come.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from etl.alerts.tick import alert_tick
from etl.config.alert_settings import AlertSettings
from etl.config.contracts import FeedContract
from etl.config.schedule import ScheduleSpec
from etl.config.settings import Settings
from etl.console.heartbeat import beat, stopped
from etl.console.sources import find_problems
from etl.jobs import Job, JobReport
from etl.runtime import Runtime
from etl.state.archive import REJECTED
from etl.state.areas import Areas
from etl.state.atomic import TEMP_GLOB
from etl.state.locks import feed_lock

log = logging.getLogger(__name__)


def alerts_job(
    contracts: dict[str, FeedContract], alerts: AlertSettings, process: str, writer: str = ""
) -> Job:
    """The scheduler's alerts job: its heartbeat, then an alerts pass, every tick.

    `writer`: who runs it, when not `process` itself (a worker beats for the scheduler).
    """

    def run(rt: Runtime, _stop: threading.Event | None) -> JobReport:
        now = rt.clock()
        beat(rt, process, now, writer or None)
        publish_staged(rt, contracts)
        return JobReport(alert_pass(rt, contracts, now))

    return Job("alerts", ScheduleSpec(interval_minutes=tick_minutes(alerts)), run)


def publish_staged(rt: Runtime, contracts: dict[str, FeedContract]) -> list[str]:
    """Publish the runs this machine committed whose upload to the bucket failed; their names.

    With `[storage] backend = "s3"` only: on one machine the feed's next run does it, as ever.
    A feed whose lock is held is running here, and its run publishes them itself. What a
    committed run staged goes up; what a run that ended without a commit staged goes; a run
    still `running` (here, or dead and not yet marked) is left to the feed's next run. Never
    raises: what cannot be published now is tried again next time.
    """
    areas = Areas(rt.settings.home)
    if rt.settings.storage.backend != "s3" or not (feeds := staged_feeds(areas)):
        return []
    published: list[str] = []
    for contract in contracts.values():
        family = contract.source.from_feed or contract.name  # the lock its runs take
        if contract.name not in feeds and "*" not in feeds:
            continue
        try:
            with feed_lock(rt.locks, family) as taken:
                if taken:
                    published += [p.name for p in rt.archive.recover(contract.name, rt.ledger)]
                    rt.outbox.recover(contract.name, rt.ledger)
        except Exception:
            log.exception("%s: its staged runs are published next time", contract.name)
    if published:
        log.info("published %d run(s) this machine had staged: %s", len(published), published)
    return published


def staged_feeds(areas: Areas) -> set[str]:
    """Feeds with a run folder staged on this disk; "*" when a Norce batch is staged (its feed
    is the ledger's to say)."""
    runs = [
        *areas.archive.glob(f"*/*/{TEMP_GLOB}"),
        *areas.archive.glob(f"*/{REJECTED}/*/{TEMP_GLOB}"),
    ]
    feeds = {p.relative_to(areas.archive).parts[0] for p in runs if p.is_dir()}
    if any(p.is_dir() for p in areas.norce_staging.glob(TEMP_GLOB)):
        feeds.add("*")
    return feeds


def tick_minutes(alerts: AlertSettings) -> float:
    """How often alerts run: `every_minutes`, often enough that a live heartbeat never looks stale."""
    return min(alerts.every_minutes, alerts.stale_after_minutes / 3)


def alert_pass(
    rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime
) -> tuple[str, ...]:
    """Look for problems and send the alerts due; without channels, nothing. Never raises."""
    if not rt.settings.alerts.channels:
        return ()
    try:
        # find_problems has the configuration problem of a start that failed (the
        # scheduler's, while this is the receiver) until a start whose contracts load.
        problems = find_problems(rt, contracts, now)
        return alert_tick(rt.ledger.at, rt.settings.alerts, problems, now).lines()
    except Exception:
        # Alerts must never stop what they watch; the log keeps the traceback.
        log.exception("alerts: the pass failed; the next tick tries again")
        return ("alerts: FAILED (see the log); the next tick tries again",)


def scheduler_stopped(rt: Runtime) -> None:
    """The scheduler was stopped on purpose: the receiver does not miss it."""
    stopped(rt, "scheduler", rt.clock())


@contextmanager
def alerts_beside(
    settings: Settings, contracts: dict[str, FeedContract], process: str
) -> Iterator[threading.Thread]:
    """A thread that beats for `process` and runs alerts passes while the block runs."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_keep_beating,
        args=(settings, contracts, process, stop),
        name=f"{process}-alerts",
        daemon=True,
    )
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join(timeout=settings.alerts.timeout_seconds * 2 + 5)

    try:
        with _finish_before_signal_ends(finish):
            yield thread
    finally:
        finish()


@contextmanager
def _finish_before_signal_ends(finish: Callable[[], None]) -> Iterator[None]:
    """SIGTERM or SIGINT that would end the process runs `finish` first.

    uvicorn takes these signals while it serves, shuts down, then raises the signal again to
    end the process as it would have ended: through this handler, so the stop is recorded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: FrameType | None) -> None:
        finish()
        before = previous[signal.Signals(signum)]
        signal.signal(signum, before if before is not None else signal.SIG_DFL)
        if callable(before):
            before(signum, frame)
        else:
            signal.raise_signal(signum)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before if before is not None else signal.SIG_DFL)


def _keep_beating(
    settings: Settings, contracts: dict[str, FeedContract], process: str, stop: threading.Event
) -> None:
    while not stop.is_set():
        _one_tick(settings, contracts, process, stopping=False)
        stop.wait(tick_minutes(settings.alerts) * 60)
    _one_tick(settings, contracts, process, stopping=True)


def _one_tick(
    settings: Settings, contracts: dict[str, FeedContract], process: str, *, stopping: bool
) -> None:
    # Connections of its own each tick, closed after: the receiver counts its file
    # descriptors, and an SFTP session opened to look at an ERP folder must not linger.
    try:
        rt = Runtime.open(settings)
    except Exception:
        log.exception("alerts: the %s's heartbeat failed; the next tick tries again", process)
        return
    try:
        if stopping:
            stopped(rt, process, rt.clock())
        else:
            beat(rt, process, rt.clock())
            alert_pass(rt, contracts, rt.clock())
    except Exception:
        log.exception("alerts: the %s's heartbeat failed; the next tick tries again", process)
    finally:
        rt.close()

"""Where alerts run: a job of the scheduler (or of the workers: one run per tick across all of
them, etl.worker.tasks), the end of `once`, a thread beside the receiver.

A module of its own above etl.alerts (sending) and etl.console (finding problems): the page
in etl.console reads the alert book, so etl.alerts imports nothing of etl.console.

The scheduler's job and the receiver's thread each write their process's heartbeat first,
then look for problems (the other's stale heartbeat among them) and send what is due. So
when the scheduler dies, the receiver says so, and the other way round. Nothing here ever
fails a run: an alerts pass that breaks is logged and tried again on the next tick.
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

log = logging.getLogger(__name__)


def alerts_job(contracts: dict[str, FeedContract], alerts: AlertSettings, process: str) -> Job:
    """The scheduler's alerts job: its heartbeat, then an alerts pass, every tick."""

    def run(rt: Runtime, _stop: threading.Event | None) -> JobReport:
        now = rt.clock()
        beat(rt, process, now)
        return JobReport(alert_pass(rt, contracts, now))

    return Job("alerts", ScheduleSpec(interval_minutes=tick_minutes(alerts)), run)


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

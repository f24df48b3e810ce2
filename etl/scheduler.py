"""APScheduler wiring: one job per feed, no overlapping runs, misfires coalesced. No business logic.

SIGTERM or SIGINT stops taking new files; the file in progress finishes, then the process exits.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from etl.alert_jobs import alerts_job, scheduler_stopped
from etl.config.contracts import FeedContract
from etl.config.schedule import ScheduleSpec
from etl.jobs import Job, erp_jobs, feed_jobs, purge_job, run_in_own_runtime
from etl.runtime import Runtime

log = logging.getLogger(__name__)


def serve(rt: Runtime, contracts: dict[str, FeedContract]) -> None:
    """Run every job of a pass (etl.jobs) on its own schedule until SIGTERM/SIGINT."""
    stop = threading.Event()
    # The alerts job also writes the scheduler's heartbeat, which the receiver checks.
    alerts = alerts_job(contracts, rt.settings.alerts, "scheduler")
    jobs = [*feed_jobs(contracts, scheduled=True), *erp_jobs(rt), alerts]
    # A worker per job (and the purge): a slow one never delays another.
    runs = ThreadPoolExecutor(len(jobs) + 1)
    scheduler = BlockingScheduler(executors={"default": runs}, timezone="UTC")
    add_jobs(scheduler, rt, jobs, stop)
    add_purge_job(scheduler, rt, contracts)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the current file, then stopping", signal.Signals(signum).name
        )
        stop.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler started with %d feeds: %s", len(contracts), ", ".join(contracts))
    scheduler.start()
    # start() returns once shutdown was asked for; wait for the runs in flight, and only
    # for them: threads a run leaves idle for the process (the outbox's fsyncs) never end
    # before the interpreter's exit, which ends them.
    runs.shutdown(wait=True)
    scheduler_stopped(rt)  # on purpose: the receiver does not report it as not running
    log.info("scheduler stopped")


def add_jobs(
    scheduler: BaseScheduler, rt: Runtime, jobs: list[Job], stop: threading.Event | None
) -> None:
    """Each job on its own trigger, first run at once; never two runs of one job at a time."""
    for job in jobs:
        _add(scheduler, rt, job, stop, first_run=rt.clock())


def add_purge_job(
    scheduler: BaseScheduler, rt: Runtime, contracts: dict[str, FeedContract]
) -> bool:
    """`run.py purge` on the settings' schedule (`[archive] purge_every_hours` or `purge_at`)."""
    job = purge_job(rt.settings, contracts)
    if job is None:
        return False
    _add(scheduler, rt, job, None, first_run=None)  # on its schedule only, not at start
    return True


def _add(
    scheduler: BaseScheduler,
    rt: Runtime,
    job: Job,
    stop: threading.Event | None,
    first_run: dt.datetime | None,
) -> None:
    scheduler.add_job(
        run_in_own_runtime,
        _trigger(job.schedule),
        args=(rt, job, stop),
        id=job.name,
        name=job.name,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        **({"next_run_time": first_run} if first_run is not None else {}),
    )


def _trigger(schedule: ScheduleSpec) -> CronTrigger | IntervalTrigger:
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone="UTC")
    assert schedule.interval_minutes is not None
    return IntervalTrigger(minutes=schedule.interval_minutes)

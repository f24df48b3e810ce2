"""The jobs of a pass (etl.jobs) as procrastinate tasks: one per job, periodic, locked.

Each task runs the same Job the scheduler runs, with `lock` = its family (etl.worker.families:
a feed family never runs twice at once on any machine; PostgreSQL holds it with a unique
index over the running jobs) and `queueing_lock` = the job's name, so at most one run of a
job waits in the queue however many ticks and workers defer it. A worker killed mid-run
leaves its job "doing" with the lock held; the stalled-run check (procrastinate's
heartbeats and `get_stalled_jobs`, on every worker) puts it back in the queue, and the
ledger's own crash recovery makes the run again safe.

Every job first publishes what this machine's runs committed and could not upload to the
bucket (etl.alert_jobs.publish_staged): the feed's next run, which used to, may never come
to this machine again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job as QueuedJob
from procrastinate.jobs import Status
from procrastinate.tasks import Task

from etl.alert_jobs import alerts_job, publish_staged
from etl.config.contracts import FeedContract
from etl.console.heartbeat import WORKER
from etl.jobs import Job, JobReport, erp_jobs, feed_jobs, purge_job, run_in_own_runtime
from etl.runtime import Runtime
from etl.worker.crontab import CronPlan, cron_plan
from etl.worker.families import feed_families, lock_of

log = logging.getLogger(__name__)

TASK_PREFIX = "etl:"
STALLED_TASK = "etl-worker:stalled-runs"
# Taken before any waiting job whenever a worker has a free slot: recovery comes first.
STALLED_PRIORITY = 100
# The heartbeat the alerts job writes: `status` and the alerts look for "the scheduler", the
# process that runs the jobs; under workers, whichever worker runs the alerts tick beats for it,
# and the row says a worker wrote it (so they name `run.py worker` when it goes quiet).
JOBS_HEARTBEAT = "scheduler"


@dataclass(frozen=True)
class WorkerJob:
    """A job of a pass, with its lock and crontab lines; `at_start`: deferred as a worker starts."""

    job: Job
    lock: str
    plan: CronPlan
    at_start: bool


def worker_jobs(rt: Runtime, contracts: dict[str, FeedContract]) -> list[WorkerJob]:
    """Every job the scheduler runs: feeds (scheduled), ERP side, the alerts, the purge.

    As the scheduler runs each job once when it starts (the purge only on its schedule),
    each is deferred once when a worker starts; the queueing lock drops the extra ones.
    The alerts job (the heartbeat, then an alerts pass) is locked by its name like the
    others, so one run per tick across all workers beats and sends.
    """
    families = feed_families(contracts)
    alerts = alerts_job(contracts, rt.settings.alerts, JOBS_HEARTBEAT, WORKER)
    work = [*feed_jobs(contracts, scheduled=True), *erp_jobs(rt)]
    jobs = [*(_publishing_first(j, contracts) for j in work), alerts]  # alerts: it does
    found = [WorkerJob(j, lock_of(j.name, families), cron_plan(j.schedule), True) for j in jobs]
    purge = purge_job(rt.settings, contracts)
    if purge is not None:
        found.append(
            WorkerJob(purge, lock_of(purge.name, families), cron_plan(purge.schedule), False)
        )
    return found


def _publishing_first(job: Job, contracts: dict[str, FeedContract]) -> Job:
    """The job, after this machine's staged runs are published."""

    def run(rt: Runtime, stop: threading.Event | None) -> JobReport:
        publish_staged(rt, contracts)
        return job.run(rt, stop)

    return replace(job, run=run)


def queue_app(dsn: str, rt: Runtime, jobs: list[WorkerJob], stop: threading.Event) -> App:
    """A procrastinate App on `dsn` with a periodic task per job and the stalled-run check."""
    app = App(connector=PsycopgConnector(conninfo=dsn))
    for worker_job in jobs:
        task = app.task(
            name=TASK_PREFIX + worker_job.job.name,
            lock=worker_job.lock,
            queueing_lock=worker_job.job.name,
        )(_runner(rt, worker_job, stop))
        for index, line in enumerate(worker_job.plan.lines):
            app.periodic(cron=line, periodic_id=str(index))(task)
    _add_stalled_check(app, rt.settings.worker.stalled_after_seconds)
    return app


async def defer_at_start(app: App, jobs: list[WorkerJob]) -> None:
    """A run of every job that runs at start, unless one is already waiting."""
    for worker_job in jobs:
        if worker_job.at_start:
            # A run of it waiting already (AlreadyEnqueued) does the work.
            with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
                await app.tasks[TASK_PREFIX + worker_job.job.name].defer_async()


def _runner(rt: Runtime, worker_job: WorkerJob, stop: threading.Event) -> Callable[..., None]:
    job, lock = worker_job.job, worker_job.lock

    def run(timestamp: int | None = None) -> None:
        # "started" and "ended" are the record of who held the family when (tests check it).
        log.info("%s: started (lock %s)", job.name, lock)
        try:
            run_in_own_runtime(rt, job, stop)  # as the scheduler runs it
        finally:
            log.info("%s: ended (lock %s)", job.name, lock)

    run.__name__ = run.__qualname__ = f"run_{job.name}"
    return run


def _add_stalled_check(app: App, stalled_after: float) -> None:
    """Every few seconds: the runs of workers without a heartbeat go back to the queue.

    No `lock`: a check stranded on a dead worker must not stop the next one.
    """
    every = max(s for s in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if s <= stalled_after / 3)

    async def stalled_runs(timestamp: int) -> None:
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
            log.warning(
                "%s: the worker running it sent no heartbeat for %g s; the run goes back to the queue",
                job.task_name.removeprefix(TASK_PREFIX),
                stalled_after,
            )
            await _requeue(app, job)

    task: Task[..., Any, ...] = app.task(
        name=STALLED_TASK, queueing_lock=STALLED_TASK, priority=STALLED_PRIORITY
    )(stalled_runs)
    app.periodic(cron=f"* * * * * */{every}", periodic_id="stalled")(task)


async def _requeue(app: App, job: QueuedJob) -> None:
    """Back to the queue; when a run of it already waits there, that one does the work."""
    try:
        await app.job_manager.retry_job(job)
    except procrastinate_errors.UniqueViolation:
        assert job.id is not None
        await app.job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
    except procrastinate_errors.ConnectorException as exc:
        # Another worker's check took it first (it is no longer "doing").
        log.info("%s: already back in the queue (%s)", job.task_name, exc)

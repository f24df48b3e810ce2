"""`run.py worker`: one of any number of processes sharing the jobs of a pass through PostgreSQL.

procrastinate does the sharing: its periodic deferrer turns each job's schedule into queued
runs (once per instant, whichever worker sees it first), and its workers take them with the
locks of etl.worker.tasks. SIGTERM or SIGINT stops taking runs; the runs in flight finish
(a feed run takes no new file), then the process exits, as the scheduler does. The last
worker to stop on purpose records the jobs' heartbeat as stopped, as the scheduler does, so
nobody is told the jobs stopped running; while another worker lives, its alerts ticks go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading

from procrastinate import App

from etl.alert_jobs import scheduler_stopped
from etl.config.contracts import FeedContract
from etl.runtime import Runtime
from etl.worker.queue_db import prepare_schema, queue_dsn, queue_errors
from etl.worker.tasks import WorkerJob, defer_at_start, queue_app, worker_jobs

log = logging.getLogger(__name__)


def serve_worker(rt: Runtime, contracts: dict[str, FeedContract], concurrency: int) -> None:
    """Run jobs from the shared queue, `concurrency` at a time, until SIGTERM/SIGINT."""
    dsn = queue_dsn(rt.settings)
    if not log.isEnabledFor(logging.DEBUG):
        # Its INFO lines say every deferral and every run of the stalled-run check, each
        # second or so; ours say each run of a job. Its warnings and errors still show.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    if prepare_schema(dsn):
        log.info("worker: applied procrastinate's schema to the task queue's database")
    stop = threading.Event()
    jobs = worker_jobs(rt, contracts)
    _say_rounded_intervals(jobs)
    app = queue_app(dsn, rt, jobs, stop)
    name = f"{socket.gethostname()}-{os.getpid()}"
    log.info(
        "worker %s started with %d feeds (%d at a time): %s",
        name,
        len(contracts),
        concurrency,
        ", ".join(contracts),
    )
    with queue_errors(dsn):
        after = rt.settings.worker.stalled_after_seconds
        others = asyncio.run(_work(app, jobs, stop, concurrency, name, after))
    if not others:
        scheduler_stopped(rt)  # on purpose, and no worker left: nobody misses the jobs
    log.info("worker stopped%s", "" if others else " (the last one: the jobs stopped on purpose)")


async def _work(
    app: App,
    jobs: list[WorkerJob],
    stop: threading.Event,
    concurrency: int,
    name: str,
    after: float,
) -> bool:
    """Defer the start runs, work until a stop signal; whether other workers still live.

    `after`: the seconds without a heartbeat that count a worker as dead.
    """
    async with app.open_async():
        await defer_at_start(app, jobs)
        running = asyncio.create_task(
            app.run_worker_async(
                name=name,
                concurrency=concurrency,
                install_signal_handlers=False,  # ours: they also tell the feed runs to stop
                update_heartbeat_interval=after / 3,
                stalled_worker_timeout=after,
                delete_jobs="successful",  # failed ones stay, to be looked at
            )
        )
        _on_stop_signals(running, stop)
        # Cancelled is how procrastinate's worker ends, once its runs in flight are done.
        with contextlib.suppress(asyncio.CancelledError):
            await running
        return await _other_workers_alive(app, after)


async def _other_workers_alive(app: App, after: float) -> bool:
    """Whether a worker (this one has unregistered) sent a heartbeat in the last `after` s."""
    row = await app.connector.execute_query_one_async(
        "SELECT count(*) AS alive FROM procrastinate_workers"
        " WHERE last_heartbeat > now() - make_interval(secs => %(after)s)",
        after=after,
    )
    return bool(row["alive"])


def _on_stop_signals(running: asyncio.Task[None], stop: threading.Event) -> None:
    """SIGTERM/SIGINT: no new runs, the feed runs take no new file; the first signal counts."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            return
        log.info("received %s: finishing the current file, then stopping", signum.name)
        stop.set()
        running.cancel()  # procrastinate's worker then waits for its runs in flight

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


def _say_rounded_intervals(jobs: list[WorkerJob]) -> None:
    """A warning per job whose interval the queue keeps rounded down (etl.worker.crontab)."""
    for worker_job in jobs:
        asked = worker_job.job.schedule.interval_minutes
        kept = worker_job.plan.every_seconds
        if asked is not None and kept is not None and abs(asked * 60 - kept) > 1e-6:
            log.warning(
                "%s: every %g minutes does not divide a day; the workers run it every %g s",
                worker_job.job.name,
                asked,
                kept,
            )

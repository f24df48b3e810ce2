"""APScheduler wiring: one job per feed, no overlapping runs, misfires coalesced. No business logic.

SIGTERM or SIGINT stops taking new files; the file in progress finishes, then the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from etl.config.contracts import FeedContract, ScheduleSpec, order_of_runs, runs_with
from etl.runtime import Runtime
from etl.to_norce.masterdata.flow import run_feed

log = logging.getLogger(__name__)


def serve(rt: Runtime, contracts: dict[str, FeedContract]) -> None:
    """Run every feed on its schedule until SIGTERM/SIGINT."""
    from etl.to_erp.files.layouts import load_every_layout

    stop = threading.Event()
    # A worker per job (feed, layout, the order poll, the purge): a slow one never delays another.
    workers = max(1, len(contracts)) + len(load_every_layout(rt.settings)) + 2
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(workers)}, timezone="UTC"
    )
    for contract in order_of_runs(contracts):  # a feed read via from_feed has no job
        scheduler.add_job(
            _run_in_own_runtime,
            _trigger(contract.schedule),
            args=(rt, runs_with(contract, contracts), stop),
            id=contract.name,
            name=contract.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=rt.clock(),
        )

    _add_order_jobs(scheduler, rt)
    _add_party_jobs(scheduler, rt)
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
    # start() returns once shutdown was asked for; wait for the runs in flight.
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    log.info("scheduler stopped")


def _add_order_jobs(scheduler: BlockingScheduler, rt: Runtime) -> None:
    """A job per order layout (export) and, when configured, one that polls Norce."""
    from etl.to_erp.files.layouts import load_layouts
    from etl.to_erp.orders.jobs import export_once, poll_once, polls

    for layout in load_layouts(rt.settings).values():
        scheduler.add_job(
            _in_own_runtime,
            _trigger(layout.contract.schedule),
            args=(
                rt,
                f"orders->{layout.name}",
                lambda own, layout=layout: export_once(own, layout),
            ),
            id=f"orders->{layout.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=rt.clock(),
        )
    if polls(rt):
        scheduler.add_job(
            _in_own_runtime,
            IntervalTrigger(minutes=rt.settings.orders.poll_interval_minutes),
            args=(rt, "orders<-norce", poll_once),
            id="orders<-norce",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=rt.clock(),
        )


def _add_party_jobs(scheduler: BlockingScheduler, rt: Runtime) -> None:
    """A job per party layout: fetch the changed customers or companies, export them."""
    from etl.to_erp.parties.jobs import export_parties_once, party_layouts

    for layout in party_layouts(rt.settings).values():
        name = f"{layout.subject.plural}->{layout.name}"
        scheduler.add_job(
            _in_own_runtime,
            _trigger(layout.contract.schedule),
            args=(rt, name, lambda own, layout=layout: export_parties_once(own, layout)),
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=rt.clock(),
        )


def add_purge_job(
    scheduler: BaseScheduler, rt: Runtime, contracts: dict[str, FeedContract]
) -> bool:
    """`run.py purge` on the settings' schedule (`[archive] purge_every_hours` or `purge_at`)."""
    archive = rt.settings.archive
    if archive.purge_at is not None:
        hour, minute = archive.purge_at.split(":")
        trigger: CronTrigger | IntervalTrigger = CronTrigger(
            hour=int(hour), minute=int(minute), timezone="UTC"
        )
    elif archive.purge_every_hours is not None:
        trigger = IntervalTrigger(hours=archive.purge_every_hours)
    else:
        return False
    scheduler.add_job(
        _in_own_runtime,
        trigger,
        args=(rt, "purge", lambda own: purge_now(own, contracts)),
        id="purge",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    return True


def purge_now(rt: Runtime, contracts: dict[str, FeedContract]) -> None:
    """One scheduled purge by the runtime's clock; its one-line summary goes to the log."""
    from etl.state.purge import purge_all

    purge_all(rt.settings, contracts, rt.clock())


def _in_own_runtime(rt: Runtime, name: str, job: Callable[[Runtime], object]) -> None:
    """An order or party job on a thread of its own, with connections of its own."""
    own = rt.fork()
    try:
        job(own)
    except Exception:
        log.exception("%s: job ended with an unexpected error; the next tick retries", name)
    finally:
        own.close()


def _run_in_own_runtime(rt: Runtime, feeds: list[FeedContract], stop: threading.Event) -> None:
    """One scheduled run (the feeds it references first) on a thread of its own."""
    own = rt.fork()
    try:
        for contract in feeds:
            run_feed(own, contract, stop)
    except Exception:
        log.exception(
            "%s: run ended with an unexpected error; the next tick retries", feeds[-1].name
        )
    finally:
        own.close()


def _trigger(schedule: ScheduleSpec) -> CronTrigger | IntervalTrigger:
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone="UTC")
    assert schedule.interval_minutes is not None
    return IntervalTrigger(minutes=schedule.interval_minutes)

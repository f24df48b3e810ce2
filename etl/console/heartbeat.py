"""`not_running` problems: the scheduler or the receiver went quiet.

Each long-lived process writes a heartbeat every minute (etl.alert_jobs); whoever looks
(the other process's alerts, `status`, the page) finds a heartbeat older than
`[alerts] stale_after_minutes` and says the process is not running. Which processes are
looked for: `expect_scheduler` / `expect_receiver`; unset, one that has run here before
(a cron-only installation never ran the scheduler, so nobody misses it). A process stopped
on purpose (SIGTERM, SIGINT) recorded so and is not missed until it beats again.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from etl.config.alert_settings import AlertSettings
from etl.config.settings import Settings
from etl.console.problems import Problem
from etl.runtime import Runtime
from etl.state.ledger.connection import stamp
from etl.state.ledger.heartbeats import Heartbeat, Heartbeats

PROCESSES = {"scheduler": "run.py (the scheduler)", "receiver": "run.py receive"}
# Under workers the alerts job of whichever worker runs it beats for "the scheduler".
_WORKERS = "`run.py worker` on at least one machine"
WORKER = "worker"  # the heartbeat's writer when a worker beats for the scheduler
# Who wrote a heartbeat, as its problem names them.
_WRITERS = {"scheduler": "the scheduler", WORKER: "a worker", "receiver": "the receiver"}
_LOST = {
    "scheduler": "no feed, poll, export or purge runs",
    "receiver": "orders and events Norce pushes are not taken in (Norce retries them)",
}


def beat(rt: Runtime, process: str, now: dt.datetime, writer: str | None = None) -> None:
    """Record that `process` (scheduler or receiver) is alive now; `writer`: who beats for it
    (a worker for the scheduler), else the process itself."""
    heartbeats = Heartbeats(rt.ledger.at)
    try:
        heartbeats.beat(process, now, os.getpid(), socket.gethostname(), writer)
    finally:
        heartbeats.close()


def stopped(rt: Runtime, process: str, now: dt.datetime) -> None:
    """Record that `process` was stopped on purpose: it is not missed."""
    heartbeats = Heartbeats(rt.ledger.at)
    try:
        heartbeats.stopped(process, now)
    finally:
        heartbeats.close()


def heartbeat_problems(rt: Runtime, now: dt.datetime) -> list[Problem]:
    """A `not_running` problem per expected process whose heartbeat is stale or missing."""
    heartbeats = Heartbeats(rt.ledger.at)
    try:
        seen = heartbeats.all()
    finally:
        heartbeats.close()
    found = []
    for process in PROCESSES:
        if _expected(rt.settings.alerts, process, seen):
            problem = _quiet(process, seen.get(process), rt.settings, now)
            if problem is not None:
                found.append(problem)
    return found


def _expected(alerts: AlertSettings, process: str, seen: dict[str, Heartbeat]) -> bool:
    setting = alerts.expect_scheduler if process == "scheduler" else alerts.expect_receiver
    return process in seen if setting is None else setting


def jobs_command(settings: Settings) -> str:
    """What runs the jobs (and beats as "the scheduler") in this installation, as a command.

    `[worker]` set: the workers. A PostgreSQL ledger is where the task queue lives by
    default, so workers are likely, though a scheduler may run on it too: both are named.
    """
    if "worker" in settings.model_fields_set:
        return _WORKERS
    if settings.state.backend == "postgresql":
        return f"{_WORKERS}, or {PROCESSES['scheduler']} if this installation runs one"
    return PROCESSES["scheduler"]


def _quiet(
    process: str, last: Heartbeat | None, settings: Settings, now: dt.datetime
) -> Problem | None:
    """The problem when `process` is missed, else None."""
    alerts = settings.alerts
    command = _command(process, last, settings)
    if last is not None and last.stopped_at is not None:
        return None
    if last is not None and now - last.at <= dt.timedelta(minutes=alerts.stale_after_minutes):
        return None
    what = (
        "never seen running (it is expected: [alerts] expect_" + process + " = true)"
        if last is None
        else f"no heartbeat since {stamp(last.at)} ({_written_by(last)}pid {last.pid} on "
        f"{last.host})"
    )
    return Problem(
        key=f"not_running:{process}",
        kind="not_running",
        subject=f"the {process}",
        what=what,
        did=f"nothing it can do: {_LOST[process]} until it runs again",
        command=f"start {command} (or set [alerts] expect_{process} = false)",
        since=stamp(last.at) if last is not None else stamp(now),
    )


def _command(process: str, last: Heartbeat | None, settings: Settings) -> str:
    """What to start: what wrote the last heartbeat; the settings' guess for a row that
    does not say (never seen, or written before the ledger kept its writer)."""
    if process != "scheduler":
        return PROCESSES[process]
    writer = last.writer if last is not None else None
    if writer == WORKER:
        return _WORKERS
    if writer == "scheduler":
        return PROCESSES["scheduler"]
    return jobs_command(settings)


def _written_by(last: Heartbeat) -> str:
    """The words `written by a worker, ` when the writer was not the process itself."""
    if last.writer is None or last.writer == last.process:
        return ""
    return f"written by {_WRITERS.get(last.writer, last.writer)}, "

"""The heartbeat row says who wrote it, and a quiet one names that process (issue 21).

On a PostgreSQL ledger with no `[worker]` section, the jobs may run under `run.py worker` (the
task queue in the ledger's database) or under the scheduler: the settings cannot tell. The
row can: the workers' alerts job and the scheduler's each record their role, and `status` and
the alerts name the one that stopped beating.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr

from etl.alert_jobs import alerts_job
from etl.config.alert_settings import AlertSettings
from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.config.state_settings import StateSettings
from etl.console.heartbeat import heartbeat_problems
from etl.runtime import Runtime
from etl.state.ledger.heartbeats import Heartbeats
from etl.state.ledger.postgres import PostgresAt
from etl.worker.tasks import worker_jobs
from tests.support.paths import SCHEMAS

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
STALE = T0 + dt.timedelta(hours=1)
WORKERS = "start `run.py worker` on at least one machine (or set [alerts] expect_scheduler = false)"
SCHEDULER = "start run.py (the scheduler) (or set [alerts] expect_scheduler = false)"


def _settings(home: Path, at: PostgresAt) -> Settings:
    """A PostgreSQL ledger and no [worker]: workers or a scheduler, the settings do not say."""
    state = StateSettings(backend="postgresql", dsn=SecretStr(at.dsn))
    return Settings(home=home, schemas_dir=SCHEMAS, state=state, alerts=AlertSettings())


def _quiet_after(rt: Runtime) -> tuple[str, str]:
    """(what, command) of the scheduler's problem an hour after the last beat."""
    [problem] = heartbeat_problems(rt, STALE)
    assert problem.key == "not_running:scheduler"
    return problem.what, problem.command


def test_a_workers_beat_names_the_workers(tmp_path: Path, postgres_at: PostgresAt) -> None:
    settings = _settings(tmp_path, postgres_at)
    rt = Runtime.open(settings, clock=lambda: T0)
    try:
        [alerts] = [
            w.job for w in worker_jobs(rt, load_contracts(settings)) if w.job.name == "alerts"
        ]
        alerts.run(rt, None)  # a worker's alerts tick: the jobs' heartbeat
        what, command = _quiet_after(rt)
        [row] = Heartbeats(postgres_at).all().values()
    finally:
        rt.close()

    assert command == WORKERS
    assert (row.process, row.writer) == ("scheduler", "worker")
    assert (
        what.startswith("no heartbeat since 2026-12-07T03:00:00") and "written by a worker" in what
    )


def test_a_schedulers_beat_names_the_scheduler(tmp_path: Path, postgres_at: PostgresAt) -> None:
    settings = _settings(tmp_path, postgres_at)
    rt = Runtime.open(settings, clock=lambda: T0)
    try:
        job = alerts_job(load_contracts(settings), settings.alerts, "scheduler")  # as etl.scheduler
        job.run(rt, None)
        what, command = _quiet_after(rt)
    finally:
        rt.close()

    assert command == SCHEDULER
    assert "written by" not in what

"""A stale `scheduler` heartbeat under workers tells the operator to start `run.py worker`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr

from etl.config.settings import Settings
from etl.config.state_settings import StateSettings
from etl.config.worker_settings import WorkerSettings
from etl.console.heartbeat import WORKER, beat, heartbeat_problems, jobs_command
from etl.runtime import Runtime

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
STALE = T0 + dt.timedelta(hours=1)


def _stale_command(settings: Settings) -> str:
    """The command of the `not_running:scheduler` problem an hour after the last beat."""
    rt = Runtime.open(settings, clock=lambda: T0)
    try:
        # under workers, the alerts job beats for "the scheduler", as a worker
        beat(rt, "scheduler", T0, WORKER if "worker" in settings.model_fields_set else None)
        [problem] = heartbeat_problems(rt, STALE)
    finally:
        rt.close()
    assert problem.key == "not_running:scheduler"
    return problem.command


def test_with_worker_configured_a_stale_heartbeat_names_run_py_worker(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, worker=WorkerSettings(dsn=SecretStr("postgresql://q/db")))

    command = _stale_command(settings)

    assert command.startswith("start `run.py worker` on at least one machine"), command
    assert "(the scheduler)" not in command, command


def test_on_one_vm_a_stale_heartbeat_still_names_the_scheduler(tmp_path: Path) -> None:
    command = _stale_command(Settings(home=tmp_path))

    assert command == "start run.py (the scheduler) (or set [alerts] expect_scheduler = false)"


def test_a_postgresql_ledger_without_worker_names_the_worker_first(tmp_path: Path) -> None:
    # The queue lives in the ledger's database by default: [worker] may well be absent.
    state = StateSettings(backend="postgresql", dsn=SecretStr("postgresql://l/db"))

    command = jobs_command(Settings(home=tmp_path, state=state))

    assert command.startswith("`run.py worker` on at least one machine"), command
    assert "run.py (the scheduler)" in command, command  # a scheduler may run on PostgreSQL too

"""The scheduler and the receiver each beat in the ledger and check the other: a process that
went quiet is a `not_running` problem, alerted by the one still running; one stopped on purpose
is not."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler

from etl.alert_jobs import alerts_beside, alerts_job, tick_minutes
from etl.config.alert_settings import AlertSettings
from etl.config.settings import Settings, load_settings
from etl.console.heartbeat import beat, heartbeat_problems, stopped
from etl.runtime import Runtime
from etl.scheduler import add_jobs
from etl.state.ledger.heartbeats import Heartbeats
from tests.support.alert_servers import webhook_server
from tests.support.paths import REPO, SCHEMAS
from tests.support.ports import free_port

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)


def _runtime(home: Path, **alerts: object) -> Runtime:
    settings = Settings(home=home, alerts=AlertSettings(**alerts))  # type: ignore[arg-type]
    return Runtime.open(settings, clock=lambda: T0)


def _keys(rt: Runtime, now: dt.datetime) -> list[str]:
    return [p.key for p in heartbeat_problems(rt, now)]


def test_a_quiet_heartbeat_is_not_running_a_stopped_one_is_not(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    try:
        assert _keys(rt, T0) == []  # never seen: a cron-only installation misses nobody
        beat(rt, "scheduler", T0)
        assert _keys(rt, T0 + dt.timedelta(minutes=5)) == []
        [problem] = heartbeat_problems(rt, T0 + dt.timedelta(minutes=6))
        assert problem.key == "not_running:scheduler" and problem.kind == "not_running"
        assert problem.what.startswith("no heartbeat since 2026-12-07T03:00:00+00:00 (pid ")
        assert problem.since == "2026-12-07T03:00:00+00:00"
        stopped(rt, "scheduler", T0 + dt.timedelta(minutes=1))
        assert _keys(rt, T0 + dt.timedelta(hours=9)) == []
        beat(rt, "scheduler", T0 + dt.timedelta(hours=9))  # started again: watched again
        assert _keys(rt, T0 + dt.timedelta(hours=10)) == ["not_running:scheduler"]
    finally:
        rt.close()


def test_expect_settings_decide_who_is_watched(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, expect_receiver=True, expect_scheduler=False)
    try:
        beat(rt, "scheduler", T0)
        [problem] = heartbeat_problems(rt, T0 + dt.timedelta(hours=1))
        assert problem.key == "not_running:receiver"
        assert problem.what.startswith("never seen running")
        assert problem.command == "start run.py receive (or set [alerts] expect_receiver = false)"
    finally:
        rt.close()


def test_the_scheduler_job_beats_and_alerts_when_the_receiver_went_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_server() as hook:
        monkeypatch.setenv("HOOK", hook.url)  # read when the message is sent
        settings = load_settings(_toml(tmp_path), {})
        rt = Runtime.open(settings, clock=lambda: T0 + dt.timedelta(minutes=30))
        try:
            beat(rt, "receiver", T0)  # its last sign of life, half an hour ago
            scheduler = BlockingScheduler(timezone="UTC")
            add_jobs(scheduler, rt, [alerts_job({}, settings.alerts, "scheduler")], None)
            [job] = scheduler.get_jobs()
            assert job.trigger.interval == dt.timedelta(minutes=1)
            job.func(*job.args)  # what the scheduler's worker calls on the tick
            job.func(*job.args)
        finally:
            rt.close()
    [body] = hook.bodies
    assert body["text"].startswith("[erp-norce-etl] PROBLEM the receiver: no heartbeat since")
    seen = Heartbeats(settings.home / "state" / "ledger.sqlite")
    try:
        assert seen.all()["scheduler"].at == T0 + dt.timedelta(minutes=30)
    finally:
        seen.close()


def test_beside_the_receiver_a_thread_beats_and_says_when_it_stopped(tmp_path: Path) -> None:
    settings = load_settings(_toml(tmp_path, "every_minutes = 0.001\n"), {"HOOK": "http://x"})
    ledger = settings.home / "state" / "ledger.sqlite"
    with alerts_beside(settings, {}, "receiver"):
        deadline = time.monotonic() + 5
        while not _seen(ledger) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _seen(ledger)
    heartbeats = Heartbeats(ledger)
    try:
        receiver = heartbeats.all()["receiver"]
    finally:
        heartbeats.close()
    assert receiver.pid == os.getpid() and receiver.stopped_at is not None


def test_ticks_are_frequent_enough_for_the_heartbeat() -> None:
    assert tick_minutes(AlertSettings()) == 1
    assert tick_minutes(AlertSettings(every_minutes=10, stale_after_minutes=6)) == 2


@pytest.mark.slow
@pytest.mark.parametrize(("command", "process"), [(["receive"], "receiver"), ([], "scheduler")])
def test_each_process_beats_and_records_its_stop(
    tmp_path: Path, command: list[str], process: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    (tmp_path / "erp").mkdir()
    port = free_port()
    (home / "etl.toml").write_text(
        f'[receiver]\nport = {port}\npassword_env = "TEST_RECEIVER_PASSWORD"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{tmp_path / "erp"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "TEST_RECEIVER_PASSWORD": "pw"}
    running = subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--home", str(home), *command],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    ledger = home / "state" / "ledger.sqlite"
    try:
        # Beating, and serving (so SIGTERM reaches the process's handler, not the default one).
        ready = (lambda: _listening(port)) if process == "receiver" else (lambda: True)
        deadline = time.monotonic() + 30
        while not (_seen(ledger, process) and ready()) and time.monotonic() < deadline:
            assert running.poll() is None, running.communicate()[1]
            time.sleep(0.05)
    finally:
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=30)
    heartbeats = Heartbeats(ledger)
    try:
        last = heartbeats.all()[process]
    finally:
        heartbeats.close()
    assert last.pid == running.pid and last.stopped_at is not None


def _toml(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "etl.toml"
    path.write_text(
        f'home = "."\n[alerts]\n{extra}[alerts.channels.ops]\nkind = "webhook"\nurl_env = "HOOK"\n',
        encoding="utf-8",
    )
    return path


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _seen(ledger: Path, process: str = "receiver") -> bool:
    if not ledger.exists():
        return False
    heartbeats = Heartbeats(ledger)
    try:
        return process in heartbeats.all()
    finally:
        heartbeats.close()

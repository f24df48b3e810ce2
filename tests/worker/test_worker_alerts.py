"""Two real workers run the heartbeat and the alerts: one run per tick across both, one alert.

The alerts job is a periodic task locked by its name, like every job of a pass: whichever
worker takes a tick writes the jobs' heartbeat ("the scheduler", which `status` and the
alerts look for) and sends what is due. The receiver is expected and never runs, so there
is one problem: the webhook gets one message for it, not one per worker. The first worker
to stop leaves the heartbeat beating (the other still runs the ticks); the last one records
the stop, as the scheduler does, so nobody is told the jobs stopped running.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import pytest

from etl.state.ledger.heartbeats import Heartbeat, Heartbeats
from tests.support.alert_servers import Webhook, webhook_server
from tests.support.cluster_workers import Worker, held_locks, overlaps, start_worker, wait_for

TICK_SECONDS = 3  # [alerts] every_minutes = 0.05


def _home(home: Path) -> Path:
    """No feeds and no layouts: the alerts are the only job; the receiver is expected."""
    for contract in (home / "schemas").rglob("*.toml"):
        contract.unlink()
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        '[worker]\ndsn_env = "ETL_WORKER_DSN"\nstalled_after_seconds = 3\n'
        "[alerts]\nevery_minutes = 0.05\nexpect_receiver = true\n"
        '[alerts.channels.chat]\nkind = "webhook"\nurl_env = "ALERT_HOOK"\n',
        encoding="utf-8",
    )
    return home


def _scheduler_beat(home: Path) -> Heartbeat | None:
    heartbeats = Heartbeats(home / "state" / "ledger.sqlite")
    try:
        return heartbeats.all().get("scheduler")
    finally:
        heartbeats.close()


def _alert_runs(
    workers: list[Worker], running: bool = False
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """Every alerts run in the workers' logs: (worker log, start, end); `running`: the
    workers still run, a run not ended yet ends now."""
    now = dt.datetime.now() if running else None
    return [
        (w.log_path.name, h.start, h.end)
        for w in workers
        for h in held_locks(w.log(), now)
        if h.job == "alerts"
    ]


def _receiver_alerts(hook: Webhook) -> list[str]:
    return [str(b["text"]) for b in hook.bodies if "receiver" in str(b.get("text", ""))]


@pytest.mark.slow
def test_workers_beat_and_alert_once_per_tick_and_the_last_one_records_the_stop(
    home: Path, queue_dsn: str
) -> None:
    _home(home)
    with webhook_server() as hook:
        env = {"ALERT_HOOK": hook.url}
        workers = [start_worker(home, n, queue_dsn, env, 1) for n in ("worker-a", "worker-b")]
        first, second = workers
        try:
            wait_for(
                "both started",
                lambda: all(" started with " in w.log() for w in workers),
                workers,
                60,
            )
            started = time.monotonic()
            wait_for(
                "5 alerts runs", lambda: len(_alert_runs(workers, running=True)) >= 5, workers, 60
            )
            window = time.monotonic() - started
            beat = _scheduler_beat(home)
            assert beat is not None and beat.stopped_at is None
            assert beat.pid in {first.process.pid, second.process.pid}

            first.process.send_signal(signal.SIGTERM)
            assert first.process.wait(timeout=30) == 0, first.log()[-3000:]
            stopped_first = dt.datetime.now(dt.UTC)
            wait_for(
                "a beat by the worker left",
                lambda: (
                    (b := _scheduler_beat(home)) is not None
                    and b.pid == second.process.pid
                    and b.at > stopped_first
                ),
                workers,
                30,
            )
            assert _scheduler_beat(home).stopped_at is None  # type: ignore[union-attr]
            second.process.send_signal(signal.SIGTERM)
            assert second.process.wait(timeout=30) == 0, second.log()[-3000:]
        finally:
            for worker in workers:
                if worker.process.poll() is None:
                    worker.process.kill()
                    worker.process.wait()
        receiver_alerts = _receiver_alerts(hook)

    runs = _alert_runs(workers)
    # One run per tick across both workers: never two at once, and no more runs than ticks
    # (plus the run each worker defers as it starts, when none waits already). A run starts
    # when a worker polls the queue, up to a tick after its instant on a loaded machine, so
    # the runs' span can be a tick shorter than the span of the instants they ran for: +1.
    assert overlaps([h for w in workers for h in held_locks(w.log()) if h.job == "alerts"]) == []
    ticks = (max(end for _, _, end in runs) - min(s for _, s, _ in runs)).total_seconds()
    assert len(runs) <= ticks / TICK_SECONDS + 4, (len(runs), ticks, window)
    assert len(receiver_alerts) == 1, receiver_alerts
    assert "the receiver" in receiver_alerts[0]
    assert "the jobs stopped on purpose" not in first.log()
    assert "worker stopped (the last one: the jobs stopped on purpose)" in second.log()
    beat = _scheduler_beat(home)
    assert beat is not None and beat.stopped_at is not None

"""Real `run.py worker` processes on one home, and what their logs say about who ran what when."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

# `2026-12-07 05:22:09,571 INFO    etl.worker.tasks: products: started (lock feeds:...)`
_RUN_LINE = re.compile(
    r"^(\S+ \S+) INFO +etl\.worker\.tasks: (.+): (started|ended) \(lock (\S+)\)$", re.MULTILINE
)
STAMP = "%Y-%m-%d %H:%M:%S,%f"


@dataclass
class Worker:
    """One `run.py worker` process; its log goes to a file both the test and a person can read."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Held:
    """A job that held its lock from `start` to `end` (the kill, when it never ended)."""

    job: str
    lock: str
    start: dt.datetime
    end: dt.datetime


def start_worker(
    home: Path, name: str, dsn: str, env: dict[str, str] | None = None, concurrency: int = 2
) -> Worker:
    """`run.py worker` on `home`'s etl.toml, the queue's DSN (and `env`) in its environment."""
    log_path = home / f"{name}.log"
    with log_path.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "run.py"),
                "--config",
                "etl.toml",
                "worker",
                "--concurrency",
                str(concurrency),
            ],
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env={**os.environ, **(env or {}), "ETL_WORKER_DSN": dsn},
        )
    return Worker(process, log_path)


def wait_for(what: str, check: Callable[[], bool], workers: list[Worker], seconds: float) -> None:
    """Poll `check` until true; AssertionError with every worker's log when it never is."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.log_path.name}\n{w.log()[-4000:]}" for w in workers)
    raise AssertionError(f"never: {what}\n{logs}")


def held_locks(log: str, killed_at: dt.datetime | None = None) -> list[Held]:
    """Every run a worker's log records; one still going when the process was killed ends then."""
    open_runs: dict[str, tuple[str, dt.datetime]] = {}
    held: list[Held] = []
    for stamp, job, event, lock in _RUN_LINE.findall(log):
        at = dt.datetime.strptime(stamp, STAMP)
        if event == "started":
            open_runs[job] = (lock, at)
        else:
            lock_held, start = open_runs.pop(job)
            held.append(Held(job, lock_held, start, at))
    for job, (lock, start) in open_runs.items():
        assert killed_at is not None, f"{job} started and never ended in a worker not killed"
        held.append(Held(job, lock, start, killed_at))
    return held


def overlaps(held: list[Held]) -> list[tuple[Held, Held]]:
    """The pairs of runs of one lock that were running at the same moment."""
    found = []
    by_start = sorted(held, key=lambda h: h.start)
    for i, first in enumerate(by_start):
        for later in by_start[i + 1 :]:
            if later.lock == first.lock and later.start < first.end:
                found.append((first, later))
    return found

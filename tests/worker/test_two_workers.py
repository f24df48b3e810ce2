"""Two real `run.py worker` processes on one home share the jobs through a real PostgreSQL.

Files are dropped while they run; one worker is killed with SIGKILL while a feed run waits
before its commit. Every file is committed once (the ledger), no lock (feed family or job)
is ever held by two runs at the same moment (both workers' logs: each run's start and
end), and the killed worker's run goes back to the queue (its heartbeat stopped) and is
finished by the other.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.state.ledger.feed_runs import Ledger
from tests.support.cluster_workers import held_locks, overlaps, start_worker, wait_for
from tests.support.masterdata import PRODUCT_ROWS, write_cp1252_products
from tests.support.paths import SAMPLES

EVERY_3_SECONDS = "interval_minutes = 0.05"


def _home_for_workers(home: Path, erp: Path) -> Path:
    """The shipped contracts (every job every 3 s), an empty ERP folder, a pause before commits."""
    for contract in (home / "schemas").rglob("*.toml"):
        text = contract.read_text(encoding="utf-8")
        text = re.sub(r"^(interval_minutes = \S+|cron = \".*\")", EVERY_3_SECONDS, text, flags=re.M)
        contract.write_text(text, encoding="utf-8")
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = 2\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n'
        "[orders]\npoll_interval_minutes = 0.05\n"
        '[worker]\ndsn_env = "ETL_WORKER_DSN"\nstalled_after_seconds = 3\n',
        encoding="utf-8",
    )
    for folder in SAMPLES.iterdir():
        (erp / folder.name).mkdir(parents=True)
    return home


def _drop(source: Path, target: Path) -> None:
    """A file copied under a temp name and renamed: never seen half-written."""
    part = target.with_name(target.name + ".part")
    shutil.copyfile(source, part)
    part.rename(target)


def _drop_samples(erp: Path) -> set[str]:
    """The sample exports dropped into the ERP folder (done-markers last); their paths."""
    files = sorted(
        (p for p in SAMPLES.rglob("*") if p.is_file()), key=lambda p: p.suffix == ".done"
    )
    for source in files:
        _drop(source, erp / source.relative_to(SAMPLES))
    return {str(p.relative_to(SAMPLES)) for p in files if p.suffix != ".done"}


def _drop_products(erp: Path, name: str, rows: list[str], scratch: Path) -> str:
    write_cp1252_products(scratch / name, rows)
    _drop(scratch / name, erp / "products" / name)
    return f"products/{name}"


def _committed(home: Path) -> Counter[tuple[str, str]]:
    ledger = Ledger(home / "state" / "ledger.sqlite")
    try:
        runs = ledger.runs(limit=1000)
    finally:
        ledger.close()
    return Counter((r.feed, r.remote_path or "") for r in runs if r.outcome == "committed")


def _all_committed(home: Path, paths: set[str]) -> Callable[[], bool]:
    return lambda: paths <= {path for _, path in _committed(home)}


@pytest.mark.slow
def test_two_workers_commit_every_file_once_and_never_hold_a_lock_twice(
    home: Path, tmp_path: Path, queue_dsn: str
) -> None:
    erp = tmp_path / "drop"
    _home_for_workers(home, erp)
    workers = [start_worker(home, "worker-a", queue_dsn), start_worker(home, "worker-b", queue_dsn)]
    try:
        wait_for(
            "both workers started",
            lambda: all(" started with " in w.log() for w in workers),
            workers,
            120,
        )
        # Side by side: files dropped while both run, every job of a family due every 3 s.
        wanted = _drop_samples(erp)
        wanted.add(_drop_products(erp, "products_20261201.csv", PRODUCT_ROWS, tmp_path))
        wait_for("every dropped file committed", _all_committed(home, wanted), workers, 180)

        # A worker dies (SIGKILL) while its run waits before the commit.
        last = _drop_products(erp, "products_20261202.csv", PRODUCT_ROWS[:2], tmp_path)
        at_commit = "products_20261202.csv: delivered"
        wait_for(
            "the last file at its commit",
            lambda: any(at_commit in w.log() for w in workers),
            workers,
            120,
        )
        victim = next(w for w in workers if at_commit in w.log())
        survivor = next(w for w in workers if w is not victim)
        victim.process.send_signal(signal.SIGKILL)
        killed_at = dt.datetime.now()
        victim.process.wait(timeout=10)
        wait_for(
            "the other worker committed it", _all_committed(home, wanted | {last}), workers, 180
        )
        survivor.process.send_signal(signal.SIGTERM)
        assert survivor.process.wait(timeout=60) == 0, survivor.log()[-4000:]
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()

    assert [key for key, times in _committed(home).items() if times != 1] == []
    assert "worker stopped" in survivor.log()
    victim_runs, survivor_runs = held_locks(victim.log(), killed_at), held_locks(survivor.log())
    assert overlaps(victim_runs + survivor_runs) == []
    # Both took runs from the queue side by side before the kill: it was shared.
    assert all(any(h.end < killed_at for h in runs) for runs in (victim_runs, survivor_runs))
    # The killed run (products' job, or one that runs products first) was taken for dead
    # and its family's lock released: the survivor ran that family again after the kill
    # (the job itself, or another of the family that runs products first).
    [killed] = [h for h in victim_runs if h.end == killed_at and "products" in h.lock]
    assert f"{killed.job}: the worker running it sent no heartbeat" in survivor.log()
    assert any(h.lock == killed.lock and h.start > killed_at for h in survivor_runs)

"""`run.py worker` stops on SIGTERM after an order export, as the scheduler does.

The outbox keeps its fsync threads for the process (etl.to_erp.files.outbox): a worker must
wait for its runs in flight on a stop, not for every thread there is.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.cluster_workers import start_worker, wait_for
from tests.support.spooled_order_home import exported, home_with_an_order


@pytest.mark.slow
def test_sigterm_stops_a_worker_after_an_order_export(tmp_path: Path, queue_dsn: str) -> None:
    config, erp_root = home_with_an_order(tmp_path, '[worker]\ndsn_env = "ETL_WORKER_DSN"\n')
    worker = start_worker(config.parent, "worker", queue_dsn)
    try:
        wait_for("an order file exported", lambda: exported(erp_root), [worker], 120)
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=30) == 0, worker.log()[-3000:]
    finally:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()
    assert "worker stopped" in worker.log()

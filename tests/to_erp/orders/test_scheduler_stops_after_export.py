"""The scheduler stops on SIGTERM after an order export (found by the R-PERF review).

The outbox keeps its fsync threads for the process (etl.to_erp.files.outbox); the scheduler
once waited for every non-daemon thread after it stopped, so it never exited after an export.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.spooled_order_home import exported, home_with_an_order


@pytest.mark.slow
def test_sigterm_stops_the_scheduler_after_an_order_export(tmp_path: Path) -> None:
    config, erp_root = home_with_an_order(tmp_path)
    log = tmp_path / "scheduler.log"
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "run.py"), "--config", str(config)],
            cwd=config.parent, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not exported(erp_root) and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text(encoding="utf-8")
                time.sleep(0.1)
            assert exported(erp_root), "no order file was exported"
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail("the scheduler did not stop within 30 s of SIGTERM after an export")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text(encoding="utf-8")
    assert process.returncode == 0, text
    assert "scheduler stopped" in text


@pytest.mark.slow
def test_once_exits_after_an_order_export(tmp_path: Path) -> None:
    config, erp_root = home_with_an_order(tmp_path)
    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "--config", str(config), "once"],
        cwd=config.parent, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert exported(erp_root)

"""The long-lived scheduler process: runs feeds on start, and SIGTERM lets the current file finish."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Ledger
from etl.state.locks import feed_lock
from etl.to_norce.run import run_feed
from tests.support.masterdata import settings_for, signal_at_commit_point
from tests.support.paths import REPO


@pytest.mark.slow
def test_sigterm_lets_the_file_in_progress_commit(home: Path, erp_root: Path) -> None:
    config = home / "etl.toml"
    config.write_text(
        f'pause_before_commit_seconds = 1.5\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", str(config)],
        cwd=home,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    seen = signal_at_commit_point(process, signal.SIGTERM)
    rest = process.communicate(timeout=60)[1]
    log = seen + rest
    assert process.returncode == 0, log
    assert "finishing the current file" in log and "scheduler stopped" in log
    ledger = Ledger(home / "state" / "ledger.sqlite")
    outcomes = [r.outcome for r in ledger.runs()]
    ledger.close()
    assert "committed" in outcomes and "running" not in outcomes


def test_a_feed_never_runs_twice_at_once(home: Path, erp_root: Path) -> None:
    settings = settings_for(home, LocalStoreSettings(root=erp_root))
    contract = load_contracts(settings)["products"]
    rt = Runtime.open(settings)
    try:
        with feed_lock(rt.locks, "products") as taken:
            assert taken
            # Another thread (as a second scheduler job or a `once` would) finds it busy.
            result: list[str] = []
            worker = threading.Thread(
                target=lambda: result.extend(o.outcome for o in run_feed(rt, contract))
            )
            worker.start()
            worker.join()
        assert result == ["skipped"]
        assert [o.outcome for o in run_feed(rt, contract)] == ["committed"]
    finally:
        rt.close()

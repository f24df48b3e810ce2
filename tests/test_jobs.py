"""What one pass is (etl.jobs), as `once` and the scheduler run it."""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler

from etl.cli import main
from etl.config.settings import OrderSettings, load_settings
from etl.jobs import erp_jobs
from etl.runtime import Runtime
from etl.scheduler import add_jobs
from tests.support.paths import SAMPLES, SCHEMAS


def _home(tmp_path: Path, extra: str = "") -> Path:
    """A home with its own copy of the shipped contracts and the samples as the ERP's folder."""
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    shutil.copytree(SAMPLES, tmp_path / "erp")
    (home / "etl.toml").write_text(
        f'schemas_dir = "schemas"\n{extra}[stores.erp]\nkind = "local"\n'
        f'root = "{tmp_path / "erp"}"\nread_only = true\n',
        encoding="utf-8",
    )
    return home


def test_once_says_each_file_as_it_is_done_before_a_broken_layout_stops_the_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    (home / "schemas" / "orders" / "broken.toml").write_text('[layout]\nname = "broken"\n')
    assert main(["--home", str(home), "once"]) == 2  # the layout is a configuration error
    printed = capsys.readouterr().out
    # The ERP's files were taken and said before the order side was looked at.
    assert "products: products_20261120.csv: committed" in printed
    assert list((home / "archive" / "products").rglob("manifest.json"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_scheduled_poll_that_fails_says_so_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = _home(
        tmp_path,
        f'[norce]\nmode = "http"\nbase_url = "http://127.0.0.1:{_closed_port()}"\n'
        'client_id = "c"\nclient_secret_env = "JOBS_TEST_SECRET"\n',
    )
    settings = load_settings(home / "etl.toml", {"JOBS_TEST_SECRET": "s"})
    settings = settings.model_copy(update={"orders": OrderSettings(source="poll")})
    scheduler = BlockingScheduler(timezone="UTC")
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        add_jobs(scheduler, rt, [j for j in erp_jobs(rt) if j.name == "orders<-norce"], None)
        [job] = scheduler.get_jobs()
        with caplog.at_level(logging.INFO):
            job.func(*job.args)  # what the scheduler's worker calls on the tick
    finally:
        rt.close()
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed and "orders <- Norce Query" in failed[0].getMessage()

"""Failures outside a feed's file runs (order poll, order export, a job that crashed) reach
the ledger, so `status` shows them with their message and exits 1 until a later run is ok."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler

from etl.cli import main
from etl.config.settings import load_settings
from etl.jobs import Job, erp_jobs, run_jobs
from etl.runtime import Runtime
from etl.scheduler import add_jobs
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from tests.support.orders import minimal_order
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.ports import free_port
from tests.support.sftp_server import known_hosts_line, other_host_key


def _home(tmp_path: Path, store: str, extra: str = "") -> Path:
    """The shipped contracts and layouts; the ERP's store as given."""
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    shutil.copytree(SAMPLES, tmp_path / "erp")
    (home / "etl.toml").write_text(
        f'home = "."\nschemas_dir = "schemas"\n{extra}[stores.erp]\n{store}\n', encoding="utf-8"
    )
    return home


def _sftp_refusing(tmp_path: Path) -> str:
    """An SFTP store on a loopback port nothing listens on (its host key and our key exist)."""
    port = free_port()
    (tmp_path / "known_hosts").write_text(known_hosts_line("127.0.0.1", port, other_host_key()))
    other_host_key().write_private_key(tmp_path / "id")
    return (
        f'kind = "sftp"\nhost = "127.0.0.1"\nport = {port}\nusername = "erp"\n'
        f'known_hosts = "{tmp_path / "known_hosts"}"\nkey_file = "{tmp_path / "id"}"\n'
        "timeout_seconds = 2"
    )


def _book_order(home: Path, ref: str) -> None:
    inbound = open_inbound(load_settings(home / "etl.toml", {}))
    try:
        answer = inbound.accept(json.dumps(minimal_order(ref)).encode(), "application/json", "push")
        assert answer.status == 200
    finally:
        inbound.book.close()


def _run(home: Path, wanted: str, env: dict[str, str] | None = None) -> None:
    settings = load_settings(home / "etl.toml", env or {})
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        run_jobs(rt, [j for j in erp_jobs(rt) if j.name == wanted])
    finally:
        rt.close()


def test_an_order_export_to_an_sftp_that_refuses_shows_in_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path, _sftp_refusing(tmp_path))
    _book_order(home, "1001")
    _run(home, "orders->erp_csv")
    capsys.readouterr()

    assert main(["--home", str(home), "status"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 problem needs a person"
    problem = out.splitlines()[1]
    assert problem.startswith("- failed: job orders->erp_csv (since ")
    assert "FAILED" in problem and "Connection refused" in problem


def test_a_failed_order_poll_shows_in_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEN_SECRET", "s")
    norce = (
        f'[norce]\nmode = "http"\nbase_url = "http://127.0.0.1:{free_port()}"\n'
        'client_id = "c"\nclient_secret_env = "SEEN_SECRET"\napplication_id = 1\n'
        '[orders]\nsource = "poll"\n'
    )
    home = _home(tmp_path, f'kind = "local"\nroot = "{tmp_path / "erp"}"', norce)
    _run(home, "orders<-norce", {"SEEN_SECRET": "s"})
    capsys.readouterr()

    code = main(["--home", str(home), "status"])
    out = capsys.readouterr().out
    assert code == 1
    assert "orders<-norce" in out and "failed" in out


def _boom(rt: Runtime, _stop: object) -> object:
    raise RuntimeError("a bug in a job")


def test_a_scheduled_job_that_crashes_is_a_failure_in_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path, f'kind = "local"\nroot = "{tmp_path / "erp"}"')
    settings = load_settings(home / "etl.toml", {})
    rt = Runtime.open(settings, sleep=lambda s: None)
    scheduler = BlockingScheduler(timezone="UTC")
    try:
        [layout] = [j for j in erp_jobs(rt) if j.name == "orders->erp_csv"]
        add_jobs(scheduler, rt, [Job("orders->erp_csv", layout.schedule, _boom)], None)  # type: ignore[arg-type]
        [job] = scheduler.get_jobs()
        job.func(*job.args)  # what the scheduler's worker calls on the tick
    finally:
        rt.close()
    capsys.readouterr()

    assert main(["--home", str(home), "status"]) == 1
    assert "a bug in a job" in capsys.readouterr().out


def test_an_export_left_unfinished_under_a_foreign_file_is_stuck(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path, f'kind = "local"\nroot = "{tmp_path / "erp"}"')
    _book_order(home, "1001")
    name = "ORDERS_20261122_1001_1.csv"
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:  # what a process that died between its upload and the rename left in the book
        [order] = book.orders()
        book.begin_export(
            "e1", "erp_csv", name, [order], "0" * 64, 100, "2026-11-22T10:00:00+00:00"
        )
    finally:
        book.close()
    foreign = tmp_path / "erp" / "orders" / "in" / name
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"somebody else's file")
    _run(home, "orders->erp_csv")
    capsys.readouterr()

    assert main(["--home", str(home), "status"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1 problem needs a person"
    assert lines[1].startswith("- export stuck: export orders->erp_csv (since ")
    assert name in lines[1]

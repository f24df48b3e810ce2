"""`[state] backend = "postgresql"`: every command keeps its state there, none in a SQLite file.

The embedded default home (the shipped samples) runs `once`, shows `status --json`, `orders`,
`parties`, `trace` and `check`, books an order through the real receiver and exports it, then
`purge` and `forget` (the person masked in every table of PostgreSQL):
each works, and no `state/ledger.sqlite` appears under the home (state split over two
databases would book an order in one and export it from the other).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from etl.cli import main
from etl.config.settings import ReceiverSettings, load_settings
from etl.embedded import SAMPLES, SCHEMAS
from etl.state.ledger.catalog import tables
from etl.state.ledger.connection import connect
from etl.state.ledger.postgres import PostgresAt
from tests.support.orders import encode, order
from tests.support.receiver import PASSWORD, USER, running

EMAIL = "anna@example.com"  # the buyer of tests.support.orders.order


def _home(tmp_path: Path, postgres_at: PostgresAt, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home whose etl.toml puts the ledger in PostgreSQL (the DSN in the environment)."""
    monkeypatch.setenv("ETL_STATE_DSN", postgres_at.dsn)
    erp = shutil.copytree(SAMPLES, tmp_path / "erp")  # writable: order files go there
    (tmp_path / "etl.toml").write_text(
        f'schemas_dir = "{SCHEMAS}"\n'  # the embedded default's contracts and samples
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n'
        '[state]\nbackend = "postgresql"\ndsn_env = "ETL_STATE_DSN"\n',
        encoding="utf-8",
    )
    return tmp_path


def _run(home: Path, capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    """One command in this process, as `run.py` runs it; its stdout, after the exit code."""
    capsys.readouterr()
    got = main(["--config", str(home / "etl.toml"), "--home", str(home), *args])
    out = capsys.readouterr().out
    assert got == code, f"{args}: exit {got}\n{out}"
    return out


def _book_one_order(home: Path, dsn: str) -> None:
    """The real receiver (uvicorn on loopback) books one order."""
    settings = load_settings(home / "etl.toml", {"ETL_STATE_DSN": dsn}, home)
    receiver = ReceiverSettings(username=USER, password=SecretStr(PASSWORD))
    with running(settings.model_copy(update={"receiver": receiver})) as r:
        answer = r.post(encode(order("7000001")))
        assert answer.status_code == httpx.codes.OK, answer.text


def test_every_command_keeps_its_state_in_postgresql(
    tmp_path: Path,
    postgres_at: PostgresAt,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = _home(tmp_path, postgres_at, monkeypatch)
    sqlite_ledger = home / "state" / "ledger.sqlite"

    assert "products_20261120.csv: committed" in _run(home, capsys, "once")
    status = json.loads(_run(home, capsys, "status", "--json"))
    assert status["needs_a_person"] is False
    _book_one_order(home, postgres_at.dsn)
    assert "7000001" in _run(home, capsys, "orders")
    _run(home, capsys, "once")  # exports the order to the ERP
    shown = _run(home, capsys, "orders", "show", "7000001")  # read-only, from PostgreSQL
    assert "Order 7000001: exported" in shown and "ORDER_7000001.xml" in shown
    _run(home, capsys, "parties")
    assert "products" in _run(home, capsys, "trace", "100123")
    assert "7000001" in _run(home, capsys, "trace", "7000001")
    sample = SAMPLES / "products" / "products_20261120.csv"
    assert "Rows accepted:    7" in _run(home, capsys, "check", str(sample), code=1)
    _run(home, capsys, "purge")
    assert "state/spool/orders: masked" in _run(home, capsys, "forget", "--email", EMAIL)

    kept = _ledger_text(postgres_at)  # every run, order and export is in PostgreSQL
    assert "products_20261120.csv" in kept and "ORDER_7000001.xml" in kept
    assert not sqlite_ledger.exists()
    assert not list(home.rglob("*.sqlite*"))


def _ledger_text(at: PostgresAt) -> str:
    """Every row of every table of the PostgreSQL ledger, as text."""
    db = connect(at)
    try:
        return "\n".join(
            str(tuple(row)) for t in tables(db) for row in db.execute(f"SELECT * FROM {t}")
        )
    finally:
        db.close()

"""`[state]` picks the ledger: SQLite under the home by default, PostgreSQL by a DSN secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.settings import load_settings
from etl.errors import ConfigError
from etl.runtime import Runtime, ledger_at
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt


def _settings_file(tmp_path: Path, state: str) -> Path:
    path = tmp_path / "etl.toml"
    path.write_text(f'home = "home"\n[state]\n{state}\n', encoding="utf-8")
    return path


def test_without_state_settings_the_ledger_is_the_homes_sqlite_file(tmp_path: Path) -> None:
    settings = load_settings(_settings_file(tmp_path, ""), {})

    assert settings.state.backend == "sqlite"
    assert ledger_at(settings) == tmp_path / "home" / "state" / "ledger.sqlite"


def test_postgresql_takes_its_dsn_from_the_environment_and_never_shows_it(
    tmp_path: Path, postgres_at: PostgresAt
) -> None:
    path = _settings_file(tmp_path, 'backend = "postgresql"\ndsn_env = "ETL_STATE_DSN"')
    settings = load_settings(path, {"ETL_STATE_DSN": postgres_at.dsn})

    rt = Runtime.open(settings)
    try:
        rt.ledger.start_run("r1", "products", "file", "2026-12-07T05:00:00+00:00", "p.csv", "a")
        assert rt.ledger.at == postgres_at
        assert postgres_at.dsn not in f"{settings!r} {settings} {rt.ledger.at!r} {rt.ledger.at}"
    finally:
        rt.close()
    seen = Ledger(postgres_at)
    try:
        run = seen.run("r1")
        assert run is not None and run.outcome == "running"
    finally:
        seen.close()
    assert not (tmp_path / "home" / "state" / "ledger.sqlite").exists()


def test_postgresql_without_a_dsn_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _settings_file(tmp_path, 'backend = "postgresql"\ndsn_env = "ETL_STATE_DSN"')
    with pytest.raises(ConfigError, match=r"state\.dsn_env.*ETL_STATE_DSN is not set"):
        load_settings(path, {})
    with pytest.raises(ConfigError, match="needs dsn_env"):
        load_settings(_settings_file(tmp_path, 'backend = "postgresql"'), {})


def test_a_dsn_is_never_written_inline(tmp_path: Path) -> None:
    path = _settings_file(tmp_path, 'backend = "postgresql"\ndsn = "postgresql://u:pw@h/db"')
    with pytest.raises(ConfigError, match="not allowed inline"):
        load_settings(path, {})


_WITHOUT_PSYCOPG = """
import sys
import subprocess
import sys
from pathlib import Path
sys.modules["psycopg"] = None  # as if never installed: importing it raises ImportError
from etl.errors import EtlError
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt
Ledger(Path(sys.argv[1])).close()
try:
    Ledger(PostgresAt("host=nowhere"))
except EtlError as exc:
    print(exc)
"""


def test_a_one_vm_install_needs_no_postgresql_driver(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PSYCOPG, str(tmp_path / "ledger.sqlite")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (tmp_path / "ledger.sqlite").is_file()
    assert "pip install 'erp-norce-etl[postgresql]'" in done.stdout

"""The task queue's database: which DSN, procrastinate's schema applied once and checked."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from etl.config.settings import load_settings
from etl.errors import ConfigError, EtlError
from etl.worker.queue_db import prepare_schema, queue_dsn


def test_the_schema_is_applied_to_an_empty_database_then_only_checked(queue_dsn: str) -> None:
    assert prepare_schema(queue_dsn) is True
    assert prepare_schema(queue_dsn) is False  # a second worker finds it there
    with psycopg.connect(queue_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)


def test_an_older_schema_is_refused_with_what_to_do(queue_dsn: str) -> None:
    prepare_schema(queue_dsn)
    with psycopg.connect(queue_dsn) as conn:
        conn.execute("DROP FUNCTION procrastinate_fetch_job_v2(character varying[], bigint)")
    with pytest.raises(
        EtlError, match=r"missing procrastinate_fetch_job_v2.*apply procrastinate's migrations"
    ):
        prepare_schema(queue_dsn)


def test_a_database_that_cannot_be_reached_says_so(tmp_path: Path) -> None:
    with pytest.raises(EtlError, match="the task queue's database failed"):
        prepare_schema(f"postgresql://nobody@/none?host={tmp_path}&connect_timeout=2")


def test_the_dsn_comes_from_worker_else_from_the_postgresql_ledger(tmp_path: Path) -> None:
    config = tmp_path / "etl.toml"
    config.write_text('[worker]\ndsn_env = "QUEUE"\n', encoding="utf-8")
    assert (
        queue_dsn(load_settings(config, {"QUEUE": "postgresql:///q"}, tmp_path))
        == "postgresql:///q"
    )
    config.write_text('[state]\nbackend = "postgresql"\ndsn_env = "LEDGER"\n', encoding="utf-8")
    assert (
        queue_dsn(load_settings(config, {"LEDGER": "postgresql:///l"}, tmp_path))
        == "postgresql:///l"
    )
    config.write_text('[worker]\ndsn = "postgresql:///inline"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not allowed inline"):
        load_settings(config, {}, tmp_path)
    config.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"worker.dsn_env.*\[worker\] dsn_env"):
        queue_dsn(load_settings(config, {}, tmp_path))

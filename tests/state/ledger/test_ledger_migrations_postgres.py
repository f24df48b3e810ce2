"""The same migrations on PostgreSQL: every table SQLite gets, a version row, a newer one refused.

On PostgreSQL the version is the one row of `ledger_schema` (PRAGMA user_version is SQLite's);
migrations run in one transaction under the ledger's write lock, so concurrent opens apply
each once and a failing one leaves the ledger at the version before.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from etl.errors import EtlError
from etl.state.ledger.connection import connect
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.migrations import LATEST, MIGRATIONS, Migration
from etl.state.ledger.pg_errors import LedgerStatementFailed
from etl.state.ledger.postgres import SCHEMA_TABLE, PostgresAt


def _pg(at: PostgresAt, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(at.dsn, autocommit=True) as db:
        cursor = db.execute(sql.encode())
        return cursor.fetchall() if cursor.description else []


def _version(at: PostgresAt) -> int:
    return int(str(_pg(at, f"SELECT version FROM {SCHEMA_TABLE}")[0][0]))


def _tables(at: PostgresAt) -> set[str]:
    rows = _pg(
        at,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    return {str(name) for (name,) in rows} - {SCHEMA_TABLE}


def test_a_fresh_ledger_gets_every_table_sqlite_gets(
    postgres_at: PostgresAt, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite"
    connect(path).close()
    with sqlite3.connect(path) as db:
        in_sqlite = {
            str(name)
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }

    connect(postgres_at).close()

    assert _version(postgres_at) == LATEST
    assert _tables(postgres_at) == in_sqlite


def test_a_ledger_from_a_newer_program_is_refused_and_left_as_it_was(
    postgres_at: PostgresAt,
) -> None:
    connect(postgres_at).close()
    _pg(postgres_at, f"UPDATE {SCHEMA_TABLE} SET version={LATEST + 1}")

    with pytest.raises(EtlError) as refused:
        Ledger(postgres_at)

    message = str(refused.value)
    assert f"version {LATEST + 1}" in message and f"version {LATEST}" in message
    assert postgres_at.dsn not in message  # the DSN may hold a password
    assert _version(postgres_at) == LATEST + 1


def test_concurrent_opens_apply_each_migration_exactly_once(postgres_at: PostgresAt) -> None:
    counted: Migration = (
        "CREATE TABLE applied (n INTEGER NOT NULL)",  # fails if applied twice
        "INSERT INTO applied VALUES (1)",
    )
    migrations = (*MIGRATIONS, counted)
    start, errors = threading.Barrier(6), list[BaseException]()

    def open_once() -> None:
        start.wait()
        try:
            connect(postgres_at, migrations).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _version(postgres_at) == len(migrations)
    assert _pg(postgres_at, "SELECT count(*) FROM applied") == [(1,)]


def test_a_migration_that_fails_leaves_the_version_before(postgres_at: PostgresAt) -> None:
    connect(postgres_at).close()
    broken: Migration = ("CREATE TABLE half (n INTEGER)", "INSERT INTO nowhere VALUES (1)")

    with pytest.raises(LedgerStatementFailed, match=r'UndefinedTable.*"nowhere"'):
        connect(postgres_at, (*MIGRATIONS, broken))

    assert _version(postgres_at) == LATEST
    assert "half" not in _tables(postgres_at)

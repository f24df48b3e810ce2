"""The PostgreSQL ledger's connection: its write lock, how long it waits, and a lost server.

Real server (tests/support/postgres.py): each test's ledger is a schema of its own.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import psycopg
import pytest

from etl.errors import EtlError
from etl.state.ledger.pg_errors import LedgerBusy, LedgerUnreachable
from etl.state.ledger.postgres import PgConnection, PostgresAt, open_postgres
from tests.support.postgres import fresh_schema


@pytest.fixture
def db(postgres_at: PostgresAt) -> Iterator[PgConnection]:
    """An open connection to an empty ledger schema with one table."""
    conn = open_postgres(postgres_at, {})
    conn.run_schema("CREATE TABLE IF NOT EXISTS notes (n INTEGER)")
    yield conn
    conn.close()


def _done_within(seconds: float, work: threading.Thread) -> bool:
    work.start()
    work.join(seconds)
    return not work.is_alive()


def test_ledgers_in_two_schemas_do_not_block_each_other(
    postgres_uri: str, postgres_at: PostgresAt
) -> None:
    with fresh_schema(postgres_uri) as other_at:
        first, second = open_postgres(postgres_at, {}), open_postgres(other_at, {})
        try:
            with first.transaction():

                def write_other() -> None:
                    with second.transaction():
                        second.execute("SELECT 1")

                assert _done_within(5.0, threading.Thread(target=write_other, daemon=True))
        finally:
            first.close()
            second.close()


def test_a_write_lock_held_too_long_is_our_error(postgres_at: PostgresAt) -> None:
    holder = open_postgres(postgres_at, {})
    waiter = open_postgres(dataclasses.replace(postgres_at, busy_timeout=0.2), {})
    try:
        with holder.transaction(), pytest.raises(LedgerBusy) as caught, waiter.transaction():
            pass
        assert "another process" in str(caught.value)
        with waiter.transaction():  # the lock released, the same connection writes again
            waiter.execute("SELECT 1")
    finally:
        holder.close()
        waiter.close()


def test_the_session_gives_up_on_a_lock_and_on_an_idle_transaction(db: PgConnection) -> None:
    lock = db.execute("SHOW lock_timeout").fetchone()
    idle = db.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert lock is not None and lock[0] == "30s"
    assert idle is not None and idle[0] not in ("0", "0ms")


def _kill(uri: str, db: PgConnection) -> None:
    row = db.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))


def test_a_dropped_connection_is_our_error_then_reconnects_on_the_next_call(
    postgres_uri: str, db: PgConnection
) -> None:
    _kill(postgres_uri, db)
    with pytest.raises(LedgerUnreachable) as caught:
        db.execute("INSERT INTO notes VALUES (?)", (1,))
    assert "PostgreSQL ledger" in str(caught.value) and "host=" not in str(caught.value)
    db.execute("INSERT INTO notes VALUES (?)", (2,))
    assert [r[0] for r in db.execute("SELECT n FROM notes").fetchall()] == [2]


def test_a_connection_dropped_inside_a_transaction_is_never_silently_replaced(
    postgres_uri: str, db: PgConnection
) -> None:
    with pytest.raises(EtlError), db.transaction():
        db.execute("INSERT INTO notes VALUES (?)", (1,))
        _kill(postgres_uri, db)
        db.execute("INSERT INTO notes VALUES (?)", (2,))
    assert [r[0] for r in db.execute("SELECT n FROM notes").fetchall()] == []


def test_reset_goes_back_to_the_ledgers_own_lock_timeout(db: PgConnection) -> None:
    db.execute("SET lock_timeout = '5s'")  # as the wipe of `forget` does around VACUUM FULL
    db.execute("RESET lock_timeout")
    row = db.execute("SHOW lock_timeout").fetchone()
    assert row is not None and row[0] == "30s"


def test_a_read_only_session_stays_read_only_when_it_reconnects(
    postgres_uri: str, db: PgConnection
) -> None:
    db.execute("SET default_transaction_read_only = on")  # as read_only() opens a reader
    _kill(postgres_uri, db)
    with pytest.raises(LedgerUnreachable):
        db.execute("SELECT 1")
    with pytest.raises(EtlError, match="read-only"):
        db.execute("INSERT INTO notes VALUES (?)", (1,))

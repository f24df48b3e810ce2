"""The one way this program opens its ledger (SQLite, or PostgreSQL) and runs a transaction.

Every part that keeps state (runs and snapshots, orders, documents, watermarks) has its own
tables in the same file, `state/ledger.sqlite`, so the scheduler and the receiver process
share it. The schema of the whole file is owned by etl.state.ledger.migrations and brought up to
date here, on every open. WAL lets the processes write side by side; `synchronous=FULL`
makes a commit survive a power cut, which is what "recorded before OK" means.

The same tables can live in PostgreSQL instead (`[state] backend = "postgresql"`): a part is
opened with a `PostgresAt` in place of the file's path (`LedgerAt`), and gets a connection
that takes the same SQL and gives the same rows (etl.state.ledger.postgres).

Nothing else opens the ledger or works out where it is: every part takes its place from the
runtime (`rt.ledger.at`) or `etl.runtime.ledger_at(settings)`, and the parts that only look
open it with `read_only` (tests/state/ledger/test_one_ledger_opener.py keeps it so).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import cast

from etl.state.ledger import dialect
from etl.state.ledger.migrations import (
    MIGRATIONS,
    Migration,
    migrate,
    migrate_postgres,
    refuse_newer,
)
from etl.state.ledger.pg_errors import LedgerBusy
from etl.state.ledger.postgres import SCHEMA_TABLE, PgConnection, PostgresAt, open_postgres

LedgerAt = Path | PostgresAt  # where the ledger is: SQLite's file, or a PostgreSQL database

_BUSY_SECONDS = 30  # how long an open or a write waits for another process's lock


def connect(at: LedgerAt, migrations: Sequence[Migration] = MIGRATIONS) -> sqlite3.Connection:
    """Open (and create) the ledger, migrated to the latest schema; rows read as sqlite3.Row.

    On PostgreSQL the connection is a PgConnection: it speaks the part of sqlite3.Connection
    the parts use (execute, executemany, rows by name and index, rowcount, lastrowid, close),
    so it is handed to them under that type until they are written against a Protocol.
    """
    if isinstance(at, PostgresAt):
        return cast(sqlite3.Connection, _connect_postgres(at, migrations))
    return _connect_sqlite(at, migrations)


def read_only(at: LedgerAt) -> sqlite3.Connection | None:
    """The ledger opened read only: never created, migrated or written; None if there is none.

    For the parts that only look (`orders show`, `trace`, `check`): looking can never change
    the ledger. SQLite opens the file with `mode=ro`; PostgreSQL's session refuses writes
    (`default_transaction_read_only`), and a database never migrated is no ledger yet.
    """
    if isinstance(at, PostgresAt):
        return cast(sqlite3.Connection, _read_only_postgres(at))
    if not at.is_file():
        return None
    uri = f"{at.resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=_BUSY_SECONDS, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def _read_only_postgres(at: PostgresAt) -> PgConnection | None:
    db = open_postgres(at, {})  # it inserts nothing, so no key is numbered
    try:
        db.execute("SET default_transaction_read_only = on")
        made = db.execute("SELECT to_regclass(?)", (SCHEMA_TABLE,)).fetchone()
        if made is None or made[0] is None:
            db.close()
            return None
    except BaseException:
        db.close()
        raise
    return db


def ledger_exists(at: LedgerAt) -> bool:
    """True when the ledger was made: the purge and `forget` create none where none was."""
    db = read_only(at)
    if db is None:
        return False
    db.close()
    return True


def _connect_postgres(at: PostgresAt, migrations: Sequence[Migration]) -> PgConnection:
    db = open_postgres(at, dialect.numbered_keys(s for m in migrations for s in m))
    try:
        migrate_postgres(db, at, migrations)
    except BaseException:
        db.close()
        raise
    return db


def _connect_sqlite(path: Path, migrations: Sequence[Migration]) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        # Before anything writes (even the journal mode): a newer ledger is left untouched.
        refuse_newer(db, path, len(migrations))
        db.row_factory = sqlite3.Row
        _use_wal(db)
        db.execute("PRAGMA synchronous=FULL")
        migrate(db, path, migrations)
    except BaseException:
        db.close()
        raise
    return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL once; an open that finds it so leaves it.

    Switching takes an exclusive lock and SQLite answers "database is locked" at once instead
    of waiting, so the scheduler and the receiver opening a new ledger together would fail one
    of them: wait and look again, as the busy timeout does for everything else.
    """
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wipe_freed(db: sqlite3.Connection, tables: Sequence[str], masked_by: str = "") -> bool:
    """Rewrite the ledger without the old values of changed rows; False if it is in use.

    SQLite: VACUUM the file and truncate its write-ahead log. PostgreSQL: VACUUM FULL each
    changed table (names from the catalog, never from input), waiting a few seconds for
    the tables' other users; the server's own WAL keeps them until its next checkpoints.
    """
    if isinstance(db, PgConnection):
        return _wipe_postgres(db, tables, masked_by or masking_xid(db))
    try:
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return not busy


def masking_xid(db: sqlite3.Connection) -> str:
    """PostgreSQL: the id of the transaction that masks (call it inside); "" on SQLite.

    A session whose snapshot is older than it (its xmin at most this id) may still read the
    values it replaced; `wipe_freed` is told it, so only such sessions make a wipe unfinished.
    """
    if not isinstance(db, PgConnection):
        return ""
    return str(db.execute("SELECT (txid_current() % 4294967296)::text").fetchall()[0][0])


def _wipe_postgres(db: PgConnection, tables: Sequence[str], masked_by: str) -> bool:
    # VACUUM FULL of a table another role owns only warns and rewrites nothing.
    owned = {
        str(row[0])
        for row in db.execute(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema() AND tableowner = current_user"
        )
    }
    if not set(tables) <= owned:
        return False
    db.execute("SET lock_timeout = '5s'")
    try:
        for table in tables:
            db.execute(f'VACUUM FULL "{table}"')
    except LedgerBusy:  # a table still in use by another session: `forget` says run it again
        return False
    finally:
        db.execute("RESET lock_timeout")  # back to the session's own (a startup option)
    # VACUUM FULL keeps the row versions an open snapshot may still read: one taken before
    # the masking committed (its xmin at most the masking transaction's id).
    readers = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL "
        "AND age(backend_xmin) >= age(?::xid)",
        (masked_by,),
    ).fetchall()[0][0]
    return not readers


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (take the write lock now, not halfway) ... COMMIT, or ROLLBACK."""
    if isinstance(db, PgConnection):  # the same promise there: see etl.state.ledger.postgres
        with db.transaction():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Tables:
    """Base of each part's view of the ledger: one connection, transactions.

    Its tables are created by etl.state.ledger.migrations, like every other part's.
    """

    def __init__(self, at: LedgerAt) -> None:
        self.at = at
        self._db = connect(at)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)


def stamp(when: dt.datetime) -> str:
    """An ISO-8601 UTC time to the second, as the ledger keeps times (compared as text)."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")

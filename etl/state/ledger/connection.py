"""The one way this program opens its SQLite ledger and runs a transaction.

Every part that keeps state (runs and snapshots, orders, documents, watermarks) has its own
tables in the same file, `state/ledger.sqlite`, so the scheduler and the receiver process
share it. The schema of the whole file is owned by etl.state.ledger.migrations and brought up to
date here, on every open. WAL lets the processes write side by side; `synchronous=FULL`
makes a commit survive a power cut, which is what "recorded before OK" means.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from etl.state.ledger.migrations import MIGRATIONS, Migration, migrate, refuse_newer

_BUSY_SECONDS = 30  # how long an open or a write waits for another process's lock


def connect(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> sqlite3.Connection:
    """Open (and create) the ledger, migrated to the latest schema; rows read as sqlite3.Row."""
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


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (take the write lock now, not halfway) ... COMMIT, or ROLLBACK."""
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

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)


def stamp(when: dt.datetime) -> str:
    """An ISO-8601 UTC time to the second, as the ledger keeps times (compared as text)."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")

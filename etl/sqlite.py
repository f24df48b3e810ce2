"""The one way this program opens its SQLite ledger and runs a transaction.

Every part that keeps state (runs and snapshots, orders, documents, watermarks) has its own
tables in the same file, `state/ledger.sqlite`, so the scheduler and the receiver process
share it. WAL lets them write side by side; `synchronous=FULL` makes a commit survive a
power cut, which is what "recorded before OK" means.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (and create) the ledger with `schema`'s tables; rows read as sqlite3.Row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


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
    """Base of each part's view of the ledger: its schema, one connection, transactions."""

    SCHEMA = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path, self.SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

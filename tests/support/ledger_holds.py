"""The ledger's write lock held by the test, as another process writing would hold it.

A command that writes the PostgreSQL ledger waits for its write lock (etl.state.ledger.postgres)
up to its busy timeout: while the test holds it, a `run.py forget` stops at its first write
with every lock of its own still held, so the test decides when it goes on, never sleeping
on a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from etl.state.ledger.postgres import PostgresAt

_WRITE_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended("
    "'etl-ledger:' || current_database() || '.' || coalesce(current_schema(), ''), 0))"
)
# Sessions waiting for the very lock this session holds (same key, same database).
_WAITERS = (
    "SELECT count(*) FROM pg_locks w JOIN pg_locks h ON w.database = h.database "
    "AND w.classid = h.classid AND w.objid = h.objid AND w.objsubid = h.objsubid "
    "WHERE h.pid = pg_backend_pid() AND h.locktype = 'advisory' AND h.granted "
    "AND w.locktype = 'advisory' AND NOT w.granted"
)


@contextmanager
def ledger_write_held(at: PostgresAt) -> Iterator[Callable[[float], None]]:
    """Hold the ledger's write lock; yields `wait_for_writer(timeout)`: returns once another
    session waits for it."""
    with psycopg.connect(at.dsn) as db, db.transaction():
        db.execute(_WRITE_LOCK)
        # A second session looks, so the look never runs inside the holding transaction's
        # own view of pg_locks at the moment it began.
        with psycopg.connect(at.dsn, autocommit=True) as looker:
            holder = db.execute("SELECT pg_backend_pid()").fetchone()
            assert holder is not None

            def wait_for_writer(timeout: float) -> None:
                deadline = time.monotonic() + timeout
                query = _WAITERS.replace("pg_backend_pid()", str(int(holder[0])))
                while time.monotonic() < deadline:
                    found = looker.execute(query).fetchone()
                    if found is not None and int(found[0]) > 0:
                        return
                    time.sleep(0.05)
                raise AssertionError(
                    f"no process waited for the ledger's write lock in {timeout} s"
                )

            yield wait_for_writer

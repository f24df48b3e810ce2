"""A lock across machines is free for the next taker as soon as its holder's block ends.

A purge right after another was refused as "another purge ... is running" under load (seen in
tests/state/migrate/test_forget_documents_in_bucket.py): closing the locks' session only asks
the server to end it, and its backend lets go of the locks when it gets to that. The holder's
backend is stopped (SIGSTOP) while the block ends, as a loaded server is slow to get to it, and
let go on again a second later.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

import psycopg

from etl.state.areas import PURGE_LOCK
from etl.state.ledger.advisory import HOME_LOCKS
from etl.state.ledger.postgres import PostgresAt
from etl.state.locks import locks_held


def _holder(at: PostgresAt, name: str) -> int:
    """The server process of the session that holds the home lock `name` (its two-key form)."""
    with psycopg.connect(at.dsn, autocommit=True) as observer:
        row = observer.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s::oid AND objsubid = 2 AND objid = hashtext("
            "current_database() || '.' || current_schema() || ':' || %s)::oid",
            (HOME_LOCKS, name),
        ).fetchone()
    assert row is not None, f"nobody holds {name}"
    return int(row[0])


def test_a_lock_is_free_for_another_machine_once_its_block_ended(
    postgres_at: PostgresAt, tmp_path: Path
) -> None:
    stopped: list[int] = []
    try:
        with locks_held(tmp_path / "vm" / "locks", [PURGE_LOCK], postgres_at) as busy:
            assert busy is None
            stopped.append(_holder(postgres_at, PURGE_LOCK))
            os.kill(stopped[0], signal.SIGSTOP)
            threading.Timer(1.0, os.kill, (stopped[0], signal.SIGCONT)).start()
        with locks_held(tmp_path / "worker" / "locks", [PURGE_LOCK], postgres_at) as busy:
            assert busy is None, "the lock was still held after the first holder's block ended"
    finally:
        for pid in stopped:  # gone once it got to the end of its session
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

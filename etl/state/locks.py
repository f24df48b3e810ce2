"""Named locks of a home: one run of a feed (an export, the purge, `forget`) at a time.

Each name is a file lock, `state/locks/<name>.lock`, held by the process (the kernel lets go
when it dies): it guards one machine (the scheduler, `once`, `approve`). With the ledger on
PostgreSQL, machines share the ledger but not their disks, so the callers that must hold
across them (the purge, `forget`, an export's layout) pass the ledger: the same name is then
also a session advisory lock there (etl.state.ledger.advisory), taken after the file lock. A
SQLite ledger is one machine's: only the file lock is taken, as always.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from etl.state.ledger.advisory import LedgerLocks
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.postgres import PostgresAt


@contextmanager
def feed_lock(folder: Path, feed: str, ledger: LedgerAt | None = None) -> Iterator[bool]:
    """Try to take the lock without waiting; yields whether it was taken.

    `ledger` on PostgreSQL: taken on every machine that shares it, not only this one.
    """
    with locks_held(folder, [feed], ledger) as busy:
        yield busy is None


@contextmanager
def locks_held(
    folder: Path, names: Iterable[str], ledger: LedgerAt | None = None
) -> Iterator[str | None]:
    """Try to take every named lock, in name order, without waiting.

    Yields None when all are held until the block ends; else the first name another run
    holds (on this machine, or with `ledger` on PostgreSQL on any), with none of them held.
    """
    with ExitStack() as stack:
        across = LedgerLocks(ledger) if isinstance(ledger, PostgresAt) else None
        if across is not None:
            stack.callback(across.close)  # ending its session lets go of its locks
        for name in sorted(set(names)):
            taken = stack.enter_context(_file_lock(folder, name))
            if not taken or (across is not None and not across.take(name)):
                stack.close()
                yield name
                return
        yield None


@contextmanager
def _file_lock(folder: Path, name: str) -> Iterator[bool]:
    """This machine's lock of `name`: whether it was taken (never waits)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

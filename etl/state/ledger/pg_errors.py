"""The PostgreSQL ledger's driver errors as ours: the one place psycopg's errors are translated.

Each says what failed and never shows the DSN (etl.state.ledger.dsn_safety scrubs the
driver's text). A lock the ledger waited for too long is LedgerBusy, as SQLite's busy
timeout gives up; a server that went away is LedgerUnreachable (the connection reconnects
on its next call outside a transaction); anything else a statement did is
LedgerStatementFailed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from etl.errors import EtlError
from etl.state.ledger.dsn_safety import scrubbed


class LedgerBusy(EtlError):
    """Another process held the ledger's write lock longer than the busy timeout."""


class LedgerUnreachable(EtlError):
    """The PostgreSQL server could not be reached, or the connection to it was lost."""


class LedgerStatementFailed(EtlError):
    """PostgreSQL refused a ledger statement."""


@contextmanager
def translated(dsn: str, busy_timeout: float, doing: str) -> Iterator[None]:
    """psycopg's errors raised inside become ours; `doing` says what was being done."""
    errors = importlib.import_module("psycopg.errors")
    try:
        yield
    except errors.LockNotAvailable as exc:  # lock_timeout: before OperationalError, its base
        raise LedgerBusy(
            f"the PostgreSQL ledger is busy: another process held its write lock longer than "
            f"{busy_timeout:g} s while {doing}; try again, or look for a stuck session in "
            "pg_stat_activity"
        ) from exc
    except errors.OperationalError as exc:
        raise LedgerUnreachable(
            f"the PostgreSQL ledger's server failed while {doing} "
            f"({type(exc).__name__}: {scrubbed(exc, dsn)}); check that PostgreSQL is up"
        ) from exc
    except errors.Error as exc:
        raise LedgerStatementFailed(
            f"PostgreSQL refused a ledger statement while {doing} "
            f"({type(exc).__name__}: {scrubbed(exc, dsn)})"
        ) from exc

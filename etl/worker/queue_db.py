"""The task queue's PostgreSQL database: which one, its procrastinate schema, its errors.

The schema is procrastinate's own (`procrastinate.sql`), applied by the first worker that
finds the database empty. Workers starting together take a transaction-level advisory lock
first, so one applies it and the others find it there; a schema left by an older
procrastinate is refused with what to do (procrastinate's migrations are applied by the
operator, as its documentation says), never half-upgraded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate import sql
from procrastinate.schema import SchemaManager

from etl.config.settings import Settings
from etl.errors import ConfigError, EtlError
from etl.state.ledger.dsn_safety import checked_dsn, scrubbed

# Any fixed number, the same in every worker: held while the schema is checked or applied.
SCHEMA_LOCK = 0x45544C5F515545  # "ETL_QUE"
QUEUE_DSN_SOURCE = "[worker] dsn_env / dsn_file (else [state]'s)"
# The versioned functions procrastinate's queries call: all present means this version's schema.
_FUNCTION = re.compile(r"\b(procrastinate_\w+_v\d+)\(")


def queue_dsn(settings: Settings) -> str:
    """The queue's DSN: [worker]'s own, else the PostgreSQL ledger's; ConfigError without one."""
    if settings.worker.dsn is not None:
        return settings.worker.dsn.get_secret_value()
    if settings.state.backend == "postgresql" and settings.state.dsn is not None:
        return settings.state.dsn.get_secret_value()
    raise ConfigError(
        "settings",
        "worker.dsn_env",
        "run.py worker shares its task queue in PostgreSQL: set [worker] dsn_env (or "
        'dsn_file), or put the ledger there with [state] backend = "postgresql"',
    )


@contextmanager
def queue_errors(dsn: str) -> Iterator[None]:
    """The one place psycopg's and procrastinate's errors become EtlError (no DSN shown)."""
    checked_dsn(dsn, QUEUE_DSN_SOURCE)  # libpq would echo a token it cannot parse
    try:
        yield
    except (psycopg.Error, procrastinate_errors.ProcrastinateException) as exc:
        raise EtlError(
            f"the task queue's database failed ({type(exc).__name__}: {scrubbed(exc, dsn)}); "
            "check that PostgreSQL is up and the DSN right, then start the worker again"
        ) from exc


def prepare_schema(dsn: str) -> bool:
    """Apply procrastinate's schema to an empty database (True), or check the one there."""
    with queue_errors(dsn), psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if found is None or found[0] is None:
            # No parameters: psycopg sends it as one simple query, every statement in turn.
            conn.execute(SchemaManager.get_schema())
            return True
        _check_version(conn)
    return False


def _check_version(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """EtlError when the schema lacks functions this procrastinate calls (an older one)."""
    wanted = {name for query in sql.queries.values() for name in _FUNCTION.findall(query)}
    rows = conn.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.proname = ANY(%s)",
        (sorted(wanted),),
    ).fetchall()
    missing = sorted(wanted - {str(row[0]) for row in rows})
    if missing:
        raise EtlError(
            "the task queue's procrastinate schema is older than the installed procrastinate "
            f"(missing {', '.join(missing)}): apply procrastinate's migrations to it first"
        )

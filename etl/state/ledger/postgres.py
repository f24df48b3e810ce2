"""The ledger on PostgreSQL: a connection that speaks to the parts as sqlite3 does.

The parts call `execute` / `executemany` with SQLite's SQL and read rows by column name or
index, `rowcount` and `lastrowid`: this module gives them that over psycopg 3, every
statement translated by etl.state.ledger.dialect.

Transactions keep what SQLite's BEGIN IMMEDIATE promised the code: writers one at a time,
each seeing every commit before it. Every ledger transaction takes one transaction-level
advisory lock first (`pg_advisory_xact_lock`, released by COMMIT or ROLLBACK, so a dead
process never leaves it held), keyed by the ledger's database and schema; as SQLite's busy
timeout, a writer waits `busy_timeout` for it (lock_timeout) and then fails (LedgerBusy), and
a transaction left idle is ended by the server, so a stuck process blocks no one for ever.
Every session has TCP keepalives on both ends (`KEEPALIVES`): the session of a machine that
lost its network is ended by the server about a minute after its last packet.

Per-table `SELECT ... FOR UPDATE` would need every read-then-write in every part audited (a
row that does not exist yet cannot be locked); one lock serialises them as SQLite did, while
readers never wait (MVCC). Under READ COMMITTED each statement after the lock sees
everything committed before it.

psycopg (`pip install 'erp-norce-etl[postgresql]'`) is imported when a PostgreSQL ledger
is opened, not before: a SQLite ledger works without it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl.errors import EtlError
from etl.state.ledger import dialect
from etl.state.ledger.dsn_safety import checked_dsn
from etl.state.ledger.pg_errors import translated

if TYPE_CHECKING:
    import psycopg

# The ledger's one write lock, a key of its database and schema: ledgers in two schemas (or
# databases) of one server never wait for each other.
_TAKE_WRITE_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended("
    "'etl-ledger:' || current_database() || '.' || coalesce(current_schema(), ''), 0))"
)
# A transaction left open this long (a process stuck between statements) is ended by the
# server, its write lock released; no ledger transaction waits on anything but the ledger.
IDLE_TRANSACTION_MS = 300_000
# A statement that changes the session itself (not SET LOCAL, which ends with its transaction).
_SESSION_SETTING = re.compile(r"^\s*(?:SET|RESET)\s+(?!LOCAL\b)", re.IGNORECASE)
SCHEMA_TABLE = "ledger_schema"  # one row: how many migrations the ledger has had
# TCP keepalives on both ends of every session. A machine that loses its network sends no FIN:
# without them the server keeps its session (its advisory locks, its open transaction) until
# the OS's keepalive, about two hours; with them it ends it about IDLE + COUNT * INTERVAL
# seconds (one minute) after the last packet, and the client notices a dead server as soon.
# An operator's own `keepalives*` in the DSN win (and set the server's side too).
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
_SERVER_KEEPALIVES = ("keepalives_idle", "keepalives_interval", "keepalives_count")


@dataclass(frozen=True)
class PostgresAt:
    """A ledger in PostgreSQL; the DSN may hold a password, so it is never shown."""

    dsn: str = field(repr=False)
    source: str = "[state] dsn_env / dsn_file"  # where the DSN came from, for its errors
    busy_timeout: float = 30.0  # seconds to wait for the write lock, as SQLite's busy timeout

    def __str__(self) -> str:
        return "the PostgreSQL ledger"


class PgRow(Sequence[Any]):
    """One row, read by column name or by index, and `dict(row)` as with sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index, self._values = index, tuple(values)

    def __getitem__(self, key: Any) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


class PgCursor:
    """What a statement gave back: its rows, how many it changed, the number it made."""

    def __init__(self, cursor: psycopg.Cursor[PgRow] | None, numbered: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount if cursor is not None else -1
        self.lastrowid: int | None = None
        if numbered and cursor is not None:
            made = cursor.fetchone()  # the INSERT's RETURNING key (none when it was ignored)
            self.lastrowid = int(made[0]) if made is not None else None

    def fetchone(self) -> PgRow | None:
        """The next row, or None."""
        return self._cursor.fetchone() if self._cursor is not None else None

    def fetchall(self) -> list[PgRow]:
        """Every row left."""
        return self._cursor.fetchall() if self._cursor is not None else []

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    """psycopg row factory: PgRow, the column index built once per result."""
    names = [c.name for c in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}
    return lambda values: PgRow(index, values)


class PgConnection:
    """One autocommit connection: each statement alone, or inside `transaction`.

    A connection the server dropped is replaced on the next call outside a transaction;
    inside one the call fails (its work is gone with the session), never silently replaced.
    """

    def __init__(self, at: PostgresAt, numbered: dict[str, str]) -> None:
        self._at, self._numbered = at, numbered
        self._conn = _session(at, "opening it")
        self._depth = 0  # transactions open (a nested one is a savepoint)
        # The session's own SET / RESET statements (a reader's read-only switch), in order:
        # a new session after a lost one gets them again, so it is the same session to callers.
        self._settings: list[str] = []

    def _live(self, doing: str) -> psycopg.Connection[PgRow]:
        """The session; a broken one is replaced first, only outside a transaction."""
        if self._conn.broken and self._depth == 0:
            self._conn.close()
            self._conn = _session(self._at, f"connecting again before {doing}")
            for setting in self._settings:
                self._conn.execute(setting)
        return self._conn

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return translated(self._at.dsn, self._at.busy_timeout, doing)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        """Run one statement (SQLite's text, translated)."""
        statement = dialect.query(sql, self._numbered)
        if statement is None:
            return PgCursor(None, False)
        with self._errors("running a statement"):
            cursor = self._live("a statement").cursor()
            cursor.execute(statement.text, tuple(params))
            if self._depth == 0 and not params and _SESSION_SETTING.match(statement.text):
                self._settings.append(statement.text)
            return PgCursor(cursor, statement.returns_key)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PgCursor:
        """Run one statement for each row of parameters."""
        statement = dialect.query(sql, self._numbered)
        if statement is None:
            return PgCursor(None, False)
        with self._errors("running a statement"):
            cursor = self._live("a statement").cursor()
            cursor.executemany(statement.text, [tuple(r) for r in rows])
            return PgCursor(cursor, False)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """BEGIN, the ledger's write lock, ... COMMIT; ROLLBACK on any exception."""
        with self._errors("writing"):
            conn = self._live("a transaction")
            with conn.transaction():
                self._depth += 1
                try:
                    conn.execute(_TAKE_WRITE_LOCK)
                    yield self
                finally:
                    self._depth -= 1

    def run_schema(self, statement: str) -> None:
        """A migration's statement, as the schema needs it on PostgreSQL."""
        with self._errors("migrating the schema"):
            # No parameters: % stays %.
            self._live("a migration").execute(dialect.schema_statement(statement))

    def parameters(self) -> dict[str, str]:
        """The session's connection parameters as libpq holds them (never the password)."""
        return dict(self._conn.info.get_parameters())

    @property
    def broken(self) -> bool:
        """Whether the server dropped the session (the next call would open a new one)."""
        return bool(self._conn.broken)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def open_postgres(at: PostgresAt, numbered: dict[str, str]) -> PgConnection:
    """Connect; a server that cannot be reached is an EtlError that never shows the DSN."""
    _driver()
    checked_dsn(at.dsn, at.source)  # libpq would echo a token it cannot parse: the password
    return PgConnection(at, numbered)


def _session(at: PostgresAt, doing: str) -> psycopg.Connection[PgRow]:
    """A new session that gives up on a lock, and on a transaction left idle, as SQLite does."""
    driver = _driver()
    parts = checked_dsn(at.dsn, at.source)
    keepalives = {name: parts.get(name, value) for name, value in KEEPALIVES.items()}
    # Startup options, not SET: they are the session's defaults, so a RESET comes back to them.
    # The server's keepalives come before the operator's options, which win; ours after them.
    given = parts.get("options") or os.environ.get("PGOPTIONS", "")
    options = (
        f"{_server_keepalives(keepalives)} {given}"
        f" -c lock_timeout={int(at.busy_timeout * 1000)}"
        f" -c idle_in_transaction_session_timeout={IDLE_TRANSACTION_MS}"
    )
    with translated(at.dsn, at.busy_timeout, doing):
        conn: psycopg.Connection[PgRow] = driver.connect(
            at.dsn, autocommit=True, row_factory=_rows, options=options.strip(), **keepalives
        )
        return conn


def _server_keepalives(keepalives: dict[str, str]) -> str:
    """The server's side of the session's keepalives (tcp_keepalives_*), as the client's."""
    if keepalives["keepalives"] == "0":  # the operator turned them off: the server's own then
        return ""
    return " ".join(f"-c tcp_{name}={keepalives[name]}" for name in _SERVER_KEEPALIVES)


def _driver() -> Any:
    """psycopg, or an EtlError that says how to install it."""
    try:
        return importlib.import_module("psycopg")
    except ImportError as exc:
        raise EtlError(
            "[state] backend = 'postgresql' needs psycopg: pip install 'erp-norce-etl[postgresql]'"
        ) from exc

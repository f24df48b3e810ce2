"""What the ledger holds, asked of either backend: its tables, their columns, each row's key.

For the parts that go over every table rather than their own (`forget` masks a person's
values wherever they are): SQLite answers from `sqlite_master` and `PRAGMA table_info`,
PostgreSQL from its catalog, for the ledger's own schema (the connection's search_path).

Only the tables the ledger's migrations make are its own: another program's tables in the
same schema are never listed, so never masked, copied or counted. procrastinate's
(`procrastinate_jobs`, `_events`, `_periodic_defers`, `_workers`) are there when `[worker]`
has no DSN of its own; they hold job, lock and queue names and each periodic run's
timestamp (etl.worker.tasks), never a person.
"""

from __future__ import annotations

import sqlite3

from etl.state.ledger import dialect
from etl.state.ledger.migrations import MIGRATIONS
from etl.state.ledger.postgres import SCHEMA_TABLE, PgConnection

# A table without a key of its own: its rows are told apart by SQLite's implicit rowid, which
# etl.state.ledger.dialect gives such a table on PostgreSQL as a column of that name.
ROWID = "rowid"
OWN_TABLES = dialect.created_tables(s for m in MIGRATIONS for s in m)

_PG_TABLES = (
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
    "AND tablename <> ? ORDER BY tablename"
)
_PG_COLUMNS = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
)
_PG_KEY = (
    "SELECT k.column_name FROM information_schema.table_constraints c "
    "JOIN information_schema.key_column_usage k "
    "ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name "
    "WHERE c.table_schema = current_schema() AND c.table_name = ? "
    "AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position"
)


def _on_postgres(db: sqlite3.Connection) -> bool:
    return isinstance(db, PgConnection)


def tables(db: sqlite3.Connection) -> list[str]:
    """Every table of the ledger (not the backend's own, its schema version, or another
    program's in the same schema)."""
    if _on_postgres(db):
        rows = db.execute(_PG_TABLES, (SCHEMA_TABLE,))
    else:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    return [str(r[0]) for r in rows if str(r[0]) in OWN_TABLES]


def has_table(db: sqlite3.Connection, table: str) -> bool:
    """True when the ledger has this table (one from before a migration may not)."""
    return table in tables(db)


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    """The table's columns, in order."""
    if _on_postgres(db):
        return [str(r[0]) for r in db.execute(_PG_COLUMNS, (table,))]
    # The name comes from tables(), never from input.
    return [str(r[1]) for r in db.execute(f'PRAGMA table_info("{table}")')]


def row_key(db: sqlite3.Connection, table: str) -> list[str]:
    """The columns that name one row: the primary key, else the rowid."""
    if _on_postgres(db):
        key = [str(r[0]) for r in db.execute(_PG_KEY, (table,))]
    else:
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
        key = [str(r[1]) for r in sorted(info, key=lambda r: int(r[5])) if int(r[5])]
    return key or [ROWID]

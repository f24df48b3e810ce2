"""The SQLite ledger copied into PostgreSQL: every table, ids kept, in one transaction, verified.

The target has had the same migrations (etl.state.ledger.connection.connect applies them),
so every table of the source is there, with the columns etl.state.ledger.dialect gives it:
the tables SQLite reads in insertion order get their `rowid` as a column, and the numbered
keys (`party_events.seq`, `alerts.alert_id`) are identity columns. Rows keep their numbers
(OVERRIDING SYSTEM VALUE), and each identity is then set past the highest number SQLite
gave out (its `sqlite_sequence` too: a number once given is never given again).

All tables go in one transaction, under the ledger's write lock: a failure anywhere, or a
checksum that does not match, rolls it all back and leaves the target as empty as it was.
The source is read inside one read transaction, so every table is of the same moment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from etl.errors import EtlError
from etl.state.ledger import catalog, dialect
from etl.state.ledger.connection import transaction
from etl.state.ledger.migrations import MIGRATIONS
from etl.state.migrate.checksums import Tally
from etl.state.migrate.refused import MoveRefused
from etl.state.migrate.salt import carry_salt

_BATCH = 1000  # rows read from SQLite and sent to PostgreSQL at a time
NUMBERED = dialect.numbered_keys(s for m in MIGRATIONS for s in m)


class LedgerCopyFailed(EtlError):
    """The copy did not verify; it was rolled back, the target holds nothing of it."""


@dataclass(frozen=True)
class TableCopy:
    """One table as it was copied (or found): its rows and their checksum."""

    table: str
    rows: int
    checksum: str


@contextmanager
def one_moment(source: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction on the SQLite ledger: every table read as of one moment."""
    source.execute("BEGIN")
    try:
        yield source
    finally:
        source.execute("ROLLBACK")  # it only read


def row_counts(db: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    """Each table's row count (0 for one the ledger does not have yet)."""
    present = set(catalog.tables(db))
    return {t: _count(db, t) if t in present else 0 for t in tables}


def target_copied(
    source: sqlite3.Connection, target: sqlite3.Connection | None, tables: list[str]
) -> list[TableCopy] | None:
    """The copy found in the target when it holds exactly the source's rows; None when empty.

    A target that holds other rows is refused (MoveRefused names the table): the move
    would mix two installations' state, or overwrite what workers already did.
    """
    counts = row_counts(target, tables) if target is not None else {}
    holding = [t for t in tables if counts.get(t)]
    if target is None or not holding:
        return None
    found = [_tally(target, t, _columns(source, t)) for t in tables]
    theirs = [_tally(source, t, _columns(source, t)) for t in tables]
    if found == theirs:
        return [TableCopy(t, f.rows, f.checksum) for t, f in zip(tables, found, strict=True)]
    held = ", ".join(f"{t} ({counts[t]})" for t in holding)
    raise MoveRefused(
        f"the PostgreSQL ledger is not empty: it holds rows that are not this home's, in "
        f"{held}. Nothing was moved. Processes on the new settings have used it: do not "
        "empty or replace it, its receivers may have answered orders OK to Norce that only "
        "it knows. Stop them; the move goes only into a ledger nothing has used (see "
        "docs/scale-out.md, 'Moving a one-VM installation over', 'If the new settings were "
        "used before the move')"
    )


def copy_ledger(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    tables: list[str],
    salt: str | None = None,
) -> list[TableCopy]:
    """Every table, and the home's privacy salt, into the (empty) target in one transaction,
    verified before it commits."""
    with transaction(target):
        copies = [_copy_table(source, target, table) for table in tables]
        carry_salt(target, salt)
        return copies


def _copy_table(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> TableCopy:
    """One table sent, numbered on and verified; LedgerCopyFailed names it when it fails."""
    columns = _columns(source, table)
    try:
        sent = _send(source, target, table, columns)
        _advance_numbering(source, target, table)
        landed = _tally(target, table, columns)
    except EtlError as exc:
        raise LedgerCopyFailed(f"table {table}: {exc}; the copy was rolled back") from exc
    if landed != sent:
        raise LedgerCopyFailed(
            f"table {table}: {sent.rows} rows read ({sent.checksum}) but "
            f"{landed.rows} landed ({landed.checksum}); the copy was rolled back"
        )
    return TableCopy(table, sent.rows, sent.checksum)


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    """The columns copied: SQLite's, and the rowid of a table read in insertion order."""
    named = catalog.columns(source, table)
    return [*named, catalog.ROWID] if table in dialect.ROWID_TABLES else named


def _select(table: str, columns: list[str]) -> str:
    # Names come from the catalog, never from input; SQLite's rowid must stay unquoted.
    listed = ", ".join(c if c == catalog.ROWID else f'"{c}"' for c in columns)
    return f'SELECT {listed} FROM "{table}"'  # noqa: S608


def _send(
    source: sqlite3.Connection, target: sqlite3.Connection, table: str, columns: list[str]
) -> Tally:
    """Stream the table's rows into the target; what was read, counted and summed."""
    marks = ", ".join("?" for _ in columns)
    listed = ", ".join(f'"{c}"' for c in columns)
    numbered = table in NUMBERED or table in dialect.ROWID_TABLES
    keep = " OVERRIDING SYSTEM VALUE" if numbered else ""  # the SQLite numbers, not new ones
    insert = f'INSERT INTO "{table}" ({listed}){keep} VALUES ({marks})'  # noqa: S608
    cursor = source.execute(_select(table, columns))
    sent = Tally()
    while batch := [tuple(row) for row in cursor.fetchmany(_BATCH)]:
        target.executemany(insert, batch)
        sent.add_all(batch)
    return sent


def _advance_numbering(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> None:
    """Set the table's identity past every number SQLite gave out, so none is given twice."""
    column = NUMBERED.get(table) or (catalog.ROWID if table in dialect.ROWID_TABLES else None)
    if column is None:
        return
    highest = source.execute(f'SELECT max({column}) FROM "{table}"').fetchone()[0] or 0  # noqa: S608
    highest = max(int(highest), _given_out(source, table))
    if highest:
        target.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?)", (table, column, highest))


def _given_out(source: sqlite3.Connection, table: str) -> int:
    """The highest AUTOINCREMENT number SQLite gave the table, deleted rows' too."""
    has = source.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone()
    if has is None:
        return 0
    row = source.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone()
    return int(row[0]) if row is not None else 0


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608


def _tally(db: sqlite3.Connection, table: str, columns: list[str]) -> Tally:
    cursor = db.execute(_select(table, columns))
    tally = Tally()
    while (row := cursor.fetchone()) is not None:
        tally.add(tuple(row))
    return tally

"""The ledger (orders, documents, parties, runs, holds): each row of each table is a record.

Every text cell of a row that names the person, or belongs to one of their orders, is
masked; keys, hashes and states stay, so every book still knows what it sent and to whom
it must never send it twice. A row is named by its table's primary key (the rowid where a
table has none), so the same masking runs on SQLite and on PostgreSQL. After the change
the freed space is wiped: SQLite's file is vacuumed and its write-ahead log truncated,
PostgreSQL's changed tables are rewritten (VACUUM FULL); freed pages would otherwise still
hold the old values on disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from etl.privacy.masking import Masker
from etl.state.ledger import catalog
from etl.state.ledger.connection import (
    LedgerAt,
    connect,
    ledger_exists,
    masking_xid,
    transaction,
    wipe_freed,
)
from etl.to_norce.documents.book import OPEN_STATES

# Columns that tie a row to an order: such a row belongs to the person's order as a whole.
ORDER_COLUMNS = ("ref", "client_order_ref")
_MARKS = ", ".join("?" * len(OPEN_STATES))
_OPEN_DOCUMENTS = f"SELECT kind, doc_no, client_order_ref, document FROM documents WHERE state IN ({_MARKS}) ORDER BY kind, doc_no"  # noqa: E501, S608


@dataclass(frozen=True)
class LedgerErasure:
    """Values masked per table, and whether the freed pages were wiped (VACUUM) too."""

    counts: dict[str, tuple[int, int]]  # per table: (rows, values)
    vacuumed: bool = True


def mask_ledger(at: LedgerAt, masker: Masker, write: bool) -> LedgerErasure:
    """Mask the person's values in every table, then wipe the freed space."""
    if not ledger_exists(at):
        return LedgerErasure({})
    # connect() refuses a ledger a newer program migrated, before anything is masked in
    # tables this program may not know.
    db = connect(at)
    try:
        counts, masked_by = _mask_tables(db, masker, write)
        if not (write and counts):
            return LedgerErasure(counts)
        return LedgerErasure(counts, wipe_freed(db, list(counts), masked_by))
    finally:
        db.close()


def open_documents_holding(at: LedgerAt, masker: Masker) -> list[str]:
    """Documents still being sent (the sender resends from their text) that name the person."""
    if not ledger_exists(at):
        return []
    db = connect(at)
    try:
        if not catalog.has_table(db, "documents"):
            return []
        rows = db.execute(_OPEN_DOCUMENTS, OPEN_STATES).fetchall()
    finally:
        db.close()
    lines = []
    for kind, number, ref, document in rows:
        theirs = masker.holds_anchor([document]) or str(ref) in masker.person.orders
        if masker.mask(document, theirs=theirs)[1]:
            lines.append(
                f"{kind} {number} is still being sent to Norce: let the document feed settle "
                "it first, then run forget again"
            )
    return lines


def _mask_tables(
    db: sqlite3.Connection, masker: Masker, write: bool
) -> tuple[dict[str, tuple[int, int]], str]:
    """The counts masked, and (PostgreSQL) the masking transaction's id for wipe_freed."""
    if not write:  # a dry run reads only
        return _masked_counts(db, masker, write), ""
    with transaction(db):
        return _masked_counts(db, masker, write), masking_xid(db)


def _masked_counts(
    db: sqlite3.Connection, masker: Masker, write: bool
) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for table in catalog.tables(db):
        rows, values = _mask_table(db, table, masker, write)
        if values:
            counts[table] = (rows, values)
    return counts


def _mask_table(db: sqlite3.Connection, table: str, masker: Masker, write: bool) -> tuple[int, int]:
    """(rows, values) masked in one table."""
    # Table and column names come from the catalog, never from input.
    columns = catalog.columns(db, table)
    key = catalog.row_key(db, table)
    names = ", ".join(f'"{c}"' for c in key)
    total = rows = 0
    for row in db.execute(f'SELECT {names}, * FROM "{table}"').fetchall():  # noqa: S608
        cells = dict(zip(columns, row[len(key) :], strict=True))
        changed, n = _masked_cells(cells, masker)
        total += n
        rows += bool(changed)
        if changed and write:
            sets = ", ".join(f'"{c}"=?' for c in changed)
            where = " AND ".join(f'"{c}"=?' for c in key)
            db.execute(
                f'UPDATE "{table}" SET {sets} WHERE {where}',  # noqa: S608
                (*changed.values(), *row[: len(key)]),
            )
    return rows, total


def _masked_cells(cells: dict[str, Any], masker: Masker) -> tuple[dict[str, str], int]:
    """The row's text cells that change, masked, and how many values were masked."""
    orders = masker.person.orders
    texts = {c: v for c, v in cells.items() if isinstance(v, str)}
    theirs = masker.holds_anchor(texts.values()) or any(
        str(cells.get(c)) in orders for c in ORDER_COLUMNS if cells.get(c) is not None
    )
    changed, total = {}, 0
    for column, text in texts.items():
        masked, n = masker.mask(text, theirs=theirs)
        if n:
            changed[column], total = masked, total + n
    return changed, total

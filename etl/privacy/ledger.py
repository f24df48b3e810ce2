"""The ledger (orders, documents, parties, runs, holds): each row of each table is a record.

Every text cell of a row that names the person, or belongs to one of their orders, is
masked; keys, hashes and states stay, so every book still knows what it sent and to whom
it must never send it twice. After the change the file is vacuumed and its write-ahead log
truncated: freed pages would otherwise still hold the old values on disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from etl.privacy.masking import Masker
from etl.state.ledger.migrations import LATEST, refuse_newer
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


def mask_ledger(path: Path, masker: Masker, write: bool) -> LedgerErasure:
    """Mask the person's values in every table, then vacuum the file."""
    if not path.is_file():
        return LedgerErasure({})
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        # It writes without etl.state.ledger.connection.connect: a ledger a newer program migrated is refused
        # here too, before anything is masked in tables this program may not know.
        refuse_newer(db, path, LATEST)
        counts = _mask_tables(db, masker, write)
        if not (write and counts):
            return LedgerErasure(counts)
        return LedgerErasure(counts, _vacuum(db))
    finally:
        db.close()


def open_documents_holding(path: Path, masker: Masker) -> list[str]:
    """Documents still being sent (the sender resends from their text) that name the person."""
    db = sqlite3.connect(path, timeout=30)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name='documents'").fetchone():
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


def _vacuum(db: sqlite3.Connection) -> bool:
    """Rewrite the file without its freed pages; False when another process holds it open."""
    try:
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return not busy


def _mask_tables(db: sqlite3.Connection, masker: Masker, write: bool) -> dict[str, tuple[int, int]]:
    tables = [
        str(r[0])
        for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        if not str(r[0]).startswith("sqlite_")
    ]
    counts: dict[str, tuple[int, int]] = {}
    db.execute("BEGIN IMMEDIATE")
    try:
        for table in tables:
            rows, values = _mask_table(db, table, masker, write)
            if values:
                counts[table] = (rows, values)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT" if write else "ROLLBACK")
    return counts


def _mask_table(db: sqlite3.Connection, table: str, masker: Masker, write: bool) -> tuple[int, int]:
    """(rows, values) masked in one table."""
    # Table and column names come from sqlite_master, never from input.
    columns = [str(c[1]) for c in db.execute(f'PRAGMA table_info("{table}")')]
    orders = masker.person.orders
    total = rows = 0
    for row in db.execute(f'SELECT rowid, * FROM "{table}"').fetchall():  # noqa: S608
        cells = dict(zip(columns, row[1:], strict=True))
        texts = {c: v for c, v in cells.items() if isinstance(v, str)}
        theirs = masker.holds_anchor(texts.values()) or any(
            str(cells.get(c)) in orders for c in ORDER_COLUMNS if cells.get(c) is not None
        )
        changed = {}
        for column, text in texts.items():
            masked, n = masker.mask(text, theirs=theirs)
            if n:
                changed[column], total = masked, total + n
        rows += bool(changed)
        if changed and write:
            sets = ", ".join(f'"{c}"=?' for c in changed)
            db.execute(
                f'UPDATE "{table}" SET {sets} WHERE rowid=?',  # noqa: S608
                (*changed.values(), row[0]),
            )
    return rows, total

"""A document sent before its entity gained a field still matches itself when it comes again."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from etl.entities.document import Document
from etl.to_norce.documents.book import DocumentBook

HEAD = {"client_order_ref": 1001, "erp_order_no": "SO-1", "invoice_date": "2026-11-20", "due": None}
LINES = ({"line_no": 1, "part_no": "100123", "quantity": 1},)


def test_an_empty_field_the_entity_gained_leaves_the_hash_as_it_was() -> None:
    before = Document("invoice", "INV-1", HEAD, LINES)
    after = Document("invoice", "INV-1", {**HEAD, "payment_code": None}, LINES)
    assert after.sha == before.sha
    assert Document("invoice", "INV-1", {**HEAD, "payment_code": 7}, LINES).sha != before.sha


def test_a_book_written_before_is_hashed_again_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    sent = Document("invoice", "INV-1", HEAD, LINES)
    book = DocumentBook(path)
    book.begin("invoices", sent, (), "r1", "2026-11-20T10:00:00+00:00")
    book.finish("invoice", "INV-1", "sent", None, "2026-11-20T10:00:01+00:00")
    book.close()
    # As the book was before: the hash of the whole canonical form, nulls and all.
    old = hashlib.sha256(sent.canonical().encode()).hexdigest()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE documents SET sha256=?", (old,))
        db.execute("DELETE FROM document_book_steps")

    book = DocumentBook(path)
    try:
        again = Document("invoice", "INV-1", {**HEAD, "payment_code": None}, LINES)
        row = book.find("invoice", "INV-1")
        assert row is not None and row.sha256 == again.sha != old
    finally:
        book.close()

"""One order's whole story, for `run.py orders show`: read from the ledger, never written.

The order book knows how the order came, its bodies, holds and exports; the document book
knows what the ERP sent Norce for it (acknowledgements, delivery notes, invoices, credits).
Both live in the ledger; this module only reads them, on a connection of its own
opened read-only, so looking at an order can never change one.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass

from etl.state.ledger.catalog import has_table
from etl.state.ledger.connection import read_only
from etl.to_erp.orders.book import Body, OrderBook, OrderRow


@dataclass(frozen=True)
class Hold:
    """One time the order was held, and who let it go."""

    reason: str
    held_at: str
    released_at: str | None
    released_by: str | None


@dataclass(frozen=True)
class Export:
    """One file that carried the order to the ERP."""

    layout: str
    file_name: str
    state: str  # uploading | done
    generation: int
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class SentDocument:
    """A document of the order as the document book knows it."""

    kind: str
    number: str
    state: str
    updated_at: str
    message: str | None


@dataclass(frozen=True)
class OrderStory:
    """Everything known about one order."""

    order: OrderRow
    bodies: list[Body]
    holds: list[Hold]
    exports: list[Export]
    documents: list[SentDocument]


def order_story(book: OrderBook, ref: str) -> OrderStory | None:
    """The order's story; None when no order has this ClientOrderRef."""
    order = book.order(ref)
    if order is None:
        return None
    db = read_only(book.at)
    if db is None:  # not reached: the book has just read the order from it
        return None
    with closing(db):
        return OrderStory(
            order, book.bodies(ref), _holds(db, ref), _exports(db, ref), _documents(db, ref)
        )


def _holds(db: sqlite3.Connection, ref: str) -> list[Hold]:
    rows = db.execute(
        "SELECT reason, held_at, released_at, released_by FROM order_holds WHERE ref=? "
        "ORDER BY held_at, rowid",
        (ref,),
    )
    return [Hold(r["reason"], r["held_at"], r["released_at"], r["released_by"]) for r in rows]


def _exports(db: sqlite3.Connection, ref: str) -> list[Export]:
    rows = db.execute(
        "SELECT e.layout, e.file_name, e.state, i.generation, e.created_at, e.finished_at "
        "FROM order_export_items i JOIN order_exports e USING (export_id) WHERE i.ref=? "
        "ORDER BY e.created_at, e.layout",
        (ref,),
    )
    return [
        Export(
            r["layout"],
            r["file_name"],
            r["state"],
            r["generation"],
            r["created_at"],
            r["finished_at"],
        )
        for r in rows
    ]


def _documents(db: sqlite3.Connection, ref: str) -> list[SentDocument]:
    """Documents naming the order, or naming the ERP order number an acknowledgement gave it.

    Documents carry Norce's order number as a whole number, so only a numeric reference can
    be named by one; a delivery note or invoice that carries only the ERP's number is found
    through the acknowledgement that paired the two.
    """
    if not ref.isdigit() or not has_table(db, "documents"):
        return []
    rows = db.execute(
        "SELECT kind, doc_no, state, updated_at, message FROM documents "
        "WHERE client_order_ref=? OR erp_order_no IN (SELECT erp_order_no FROM documents "
        "WHERE client_order_ref=? AND erp_order_no IS NOT NULL) "
        "ORDER BY first_seen, kind, doc_no",
        (int(ref), int(ref)),
    )
    return [
        SentDocument(r["kind"], r["doc_no"], r["state"], r["updated_at"], r["message"])
        for r in rows
    ]

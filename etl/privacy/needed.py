"""What `forget` must leave alone for now, and which orders were the person's once purged.

A body or document still on its way is never altered: an order not yet exported would
reach the ERP with `[erased]` in it, an open document would be sent to Norce so. Such a
thing refuses the erasure with what to do first, whoever's it is: a spooled body of another
customer can hold the person's e-mail (a gift), and must still arrive as the buyer sent it.

The order spool's bodies are purged past their retention; before a body goes, the purge
notes its buyer (salted hashes of e-mail and customer code, `order_buyers` in the order
book), so `forget` still finds the person's orders, and their documents, afterwards; the
salt is the ledger's on PostgreSQL, so any worker finds them (etl.privacy.shared_salt).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from etl.privacy import audit
from etl.privacy.ledger import open_documents_holding
from etl.privacy.masking import Masker
from etl.privacy.places import UnreadableFile, rewrite_file
from etl.privacy.shared_salt import buyer_salt
from etl.state.ledger.connection import LedgerAt, ledger_exists
from etl.to_erp.orders.book import OrderBook

PENDING = ("spooled", "held")
EVERY = 1_000_000_000  # no limit: every pending order is checked


def still_needed(ledger: LedgerAt, order_spool: Path, masker: Masker) -> list[str]:
    """Why the erasure must wait: orders not yet exported, documents still being sent."""
    if not ledger_exists(ledger):
        return []
    orders = _pending_orders(ledger, order_spool, masker)
    return [*orders, *open_documents_holding(ledger, masker)]


def _pending_orders(ledger: LedgerAt, spool: Path, masker: Masker) -> list[str]:
    in_orders = masker.in_orders()
    book = OrderBook(ledger)
    try:
        pending = {
            row.ref: {row.spool_name, *(b.spool_name for b in book.bodies(row.ref))}
            for state in PENDING
            for row in book.orders(state, limit=EVERY)
        }
    finally:
        book.close()
    return [
        f"order {ref} not yet exported: run the export first (a held order: release it, or "
        "settle it with the ERP), then run forget again"
        for ref, names in sorted(pending.items())
        if ref in masker.person.orders or any(_holds(spool / n, in_orders) for n in names)
    ]


def _holds(path: Path, masker: Masker) -> bool:
    if not path.is_file():
        return False
    try:
        return rewrite_file(path, masker, False, None) > 0
    except UnreadableFile:
        return True  # cannot tell: the body stays as it is


def buyer_orders(ledger: LedgerAt, privacy: Path, keys: Iterable[str]) -> set[str]:
    """Refs of the person's orders whose bodies were purged (from the buyer index)."""
    if not ledger_exists(ledger):
        return set()
    salt = buyer_salt(ledger, privacy, create=False)
    hashed = audit.hashed_with(salt, keys) if salt is not None else []
    if not hashed:
        return set()
    book = OrderBook(ledger)
    try:
        return book.orders_of(hashed)
    finally:
        book.close()


def note_buyers(ledger: LedgerAt, privacy: Path, ref: str, keys: Iterable[str]) -> None:
    """Before an order's body is purged: keep who bought it, as salted hashes."""
    salt = buyer_salt(ledger, privacy, create=True)
    hashed = audit.hashed_with(salt, keys) if salt is not None else []
    if not hashed:
        return
    book = OrderBook(ledger)
    try:
        book.note_buyers(ref, hashed)
    finally:
        book.close()


def forget_buyers(ledger: LedgerAt, refs: Iterable[str]) -> None:
    """After an erasure: nothing links the person to their orders any more."""
    if not ledger_exists(ledger):
        return
    book = OrderBook(ledger)
    try:
        book.forget_buyers(sorted(refs))
    finally:
        book.close()

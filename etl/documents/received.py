"""The payments of a received order, read back from the spool (for invoices and credits).

The order book and the spool keep every order exactly as Norce sent it (etl.orders.book,
etl.orders.spool), `Payments[]` included: PaymentCode and PaymentRef, which CreateInvoice
and CreditPayment must name and ERP files seldom carry.
"""

from __future__ import annotations

from pathlib import Path

from etl.orders.bodies import BodyRefused, parse_order
from etl.orders.book import OrderBook
from etl.orders.model import Payment
from etl.orders.spool import Spool


class ReceivedOrders:
    """Looks up received orders; opens the order book on first use (one per thread)."""

    def __init__(self, state: Path) -> None:
        self._state = state
        self._book: OrderBook | None = None

    def payments(self, client_order_ref: str) -> list[Payment] | None:
        """The order's Payments[] as Norce sent it; None when it was not received here or is unreadable."""
        if self._book is None:
            self._book = OrderBook(self._state / "ledger.sqlite")
        row = self._book.order(client_order_ref)
        if row is None:
            return None
        spool = Spool(self._state / "spool" / "orders")
        try:
            return parse_order(spool.read(row.spool_name), row.kind).payments
        except (OSError, ValueError, BodyRefused):
            return None

    def close(self) -> None:
        """Close the book's connection, if it was opened."""
        if self._book is not None:
            self._book.close()

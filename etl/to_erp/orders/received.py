"""Orders received here, read back from the spool as Norce sent them.

The order book and the spool keep every order exactly as Norce sent it (etl.to_erp.orders.book,
etl.state.spool), so what ERP files seldom carry is known here: the buyer's e-mail for the
ERP-number write-back, and the `Payments[]` (PaymentCode, PaymentRef) that CreateInvoice and
CreditPayment must name.
"""

from __future__ import annotations

from etl.state.ledger.connection import LedgerAt
from etl.state.spool_base import BodySpool
from etl.to_erp.orders.bodies import BodyRefused, parse_order
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.model import ClientCustomer, OrderRequest, Payment


class ReceivedOrders:
    """Looks up received orders; opens the order book on first use (one per thread)."""

    def __init__(self, ledger: LedgerAt, spool: BodySpool) -> None:
        self._ledger, self._spool = ledger, spool
        self._book: OrderBook | None = None

    def order(self, client_order_ref: str) -> OrderRequest | None:
        """The order as Norce sent it; None when it was not received here or is unreadable."""
        if self._book is None:
            self._book = OrderBook(self._ledger)
        row = self._book.order(client_order_ref)
        if row is None:
            return None
        try:
            return parse_order(self._spool.read(row.spool_name), row.kind)
        except (OSError, ValueError, BodyRefused):
            return None

    def payments(self, client_order_ref: str) -> list[Payment] | None:
        """The order's Payments[]; None when the order is not known here."""
        order = self.order(client_order_ref)
        return None if order is None else order.payments

    def email(self, client_order_ref: str) -> str | None:
        """The buyer's e-mail on the order (SellTo, else BillTo), None if unknown or unread."""
        order = self.order(client_order_ref)
        if order is None:
            return None
        return _email(order.sell_to) or _email(order.bill_to)

    def close(self) -> None:
        """Close the book's connection, if it was opened."""
        if self._book is not None:
            self._book.close()


def _email(party: ClientCustomer | None) -> str | None:
    person = party.person if party is not None else None
    email = person.email.strip() if person is not None and person.email else ""
    return email or None

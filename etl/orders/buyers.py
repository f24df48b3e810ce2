"""The buyer of a received order, read back from the spool (for the ERP-number write-back).

The order book and the spool keep every order exactly as Norce sent it, so the e-mail
address the web shop had for a buyer without an ERP number is known here even when the
ERP's answer leaves it out.
"""

from __future__ import annotations

from pathlib import Path

from etl.orders.bodies import BodyRefused, parse_order
from etl.orders.book import OrderBook
from etl.orders.model import ClientCustomer
from etl.orders.spool import Spool


class ReceivedBuyers:
    """Looks up buyers of received orders; opens the book on first use (one per thread)."""

    def __init__(self, state: Path) -> None:
        self._state = state
        self._book: OrderBook | None = None

    def email(self, client_order_ref: str) -> str | None:
        """The buyer's e-mail on the order (SellTo, else BillTo), None if unknown or unread."""
        if self._book is None:
            self._book = OrderBook(self._state / "ledger.sqlite")
        row = self._book.order(client_order_ref)
        if row is None:
            return None
        spool = Spool(self._state / "spool" / "orders")
        try:
            order = parse_order(spool.read(row.spool_name), row.kind)
        except (OSError, ValueError, BodyRefused):
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

"""Checks an order must pass before it goes to the ERP; a failure holds it for an operator.

A held order is not lost and not refused: Norce got its OK, the order is in the spool and
the book, and `status` and `run.py orders` show why it waits. An operator fixes what is
wrong (in Norce or with the customer) and releases it, or cancels it in Norce.
"""

from __future__ import annotations

from collections.abc import Iterable

from etl.orders.model import OrderRequest


def hold_reasons(order: OrderRequest, currencies: Iterable[str]) -> list[str]:
    """Why this order must wait for an operator; empty when it may go to the ERP."""
    reasons = []
    if order.do_hold:
        reasons.append("Norce marked the order for manual validation (DoHold)")
    goods = [item for item in order.items if not item.is_fee]
    if not goods:
        reasons.append("the order has no order lines (only fees, or none at all)")
    accepted = {c.upper() for c in currencies}
    if not order.currency_code:
        reasons.append("the order has no CurrencyCode")
    elif order.currency_code.upper() not in accepted:
        reasons.append(
            f"currency {order.currency_code!r} is not one the shop sells in "
            f"(settings orders.currencies: {', '.join(sorted(accepted))})"
        )
    for item in order.items:
        line = item.line_no if item.line_no is not None else "?"
        if item.quantity is not None and item.quantity < 0:
            reasons.append(f"line {line}: negative quantity {item.quantity}")
        if not item.is_fee and not (item.part_no or item.erp_part_no):
            reasons.append(f"line {line}: no PartNo")
    return reasons

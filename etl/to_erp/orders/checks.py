"""Checks an order must pass before it goes to the ERP; a failure holds it for an operator.

A held order is not lost and not refused: Norce got its OK, the order is in the spool and
the book, and `status` and `run.py orders` show why it waits. An operator fixes what is
wrong (in Norce or with the customer) and releases it, or cancels it in Norce.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from etl.to_erp.orders import amounts
from etl.to_erp.orders.model import OrderItem, OrderRequest

# Norce rounds each amount to cents on its own, as we do, but may round other amounts (a
# unit price, not a line): allow a cent per amount before calling a total wrong.
_CENT = Decimal("0.01")


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
    return reasons + amount_reasons(order)


def amount_reasons(order: OrderRequest) -> list[str]:
    """Why the order's lines, fees and discounts cannot be what the customer pays.

    First what no layout can write correctly (etl.to_erp.orders.amounts.problems: a release does
    not change it), then what an operator may look at and release: a line whose VAT is not
    its rate, a fee sent twice, a total that is not what was paid. The order's total is
    what was paid (the sum of Payments[].Amount). An order with no payments (on account,
    invoiced later), a payment without an Amount or a line without its VAT (orders read
    from Norce Query carry neither) has no total to compare with.
    """
    wrong = amounts.problems(order)
    if wrong:
        return wrong
    reasons = [r for i in order.items if (r := _line_vat_reason(i))]
    reasons += _duplicate_fees(order)
    return reasons + _payment_reasons(order)


def _line_vat_reason(item: OrderItem) -> str | None:
    """A line whose UnitVat is not UnitPrice x VatRate: which of the two is right is unknown."""
    price, vat, rate = item.unit_price, item.unit_vat, item.vat_rate
    if price is None or vat is None or rate is None:
        return None
    expected = price * rate / 100
    if abs(expected - vat) <= _CENT:
        return None
    return (
        f"line {item.line_no if item.line_no is not None else '?'}: UnitVat {vat} is not "
        f"UnitPrice {price} x VatRate {rate}% ({amounts.money(expected)})"
    )


def _duplicate_fees(order: OrderRequest) -> list[str]:
    """Fees[] entries with the amount of a fee line: Norce may send freight both ways."""
    reasons = []
    fee_lines = [i for i in order.items if i.is_fee]
    for number, fee in enumerate(order.fees, start=1):
        amount = amounts.fee_ex_vat(fee)
        same = [i for i in fee_lines if amount is not None and amounts.line_total(i) == amount]
        if same:
            line = same[0].line_no if same[0].line_no is not None else "?"
            reasons.append(
                f"Fees[{number}] ({fee.description or fee.type}, {amount} ex VAT) has the amount "
                f"of fee line {line} ({same[0].description or same[0].type}): counted twice? "
                "Check the order in Norce; release it if both are real"
            )
    return reasons


def _payment_reasons(order: OrderRequest) -> list[str]:
    made = amounts.of(order)
    expected = made.incl_vat
    if not _comparable(order):
        return []
    paid = amounts.money_sum(p.amount for p in order.payments)
    difference = paid - expected
    slack = _CENT * (len(order.items) + len(order.fees) + len(order.discounts))
    if abs(difference) <= slack:
        return []
    what = (
        f"lines {made.lines_ex_vat + made.lines_vat}, fees {made.charges_ex_vat + made.charges_vat}"
        f" and discounts -{made.discounts_incl_vat} make {expected} incl VAT"
    )
    why = (
        "an amount Norce sent is missing from the order"
        if difference > 0
        else "the order makes more than was paid: an amount may be counted twice, or a "
        "discount or a payment is missing"
    )
    return [
        f"the amounts do not add up: {what}, but the payments are {paid} "
        f"(a difference of {difference:+}); {why}"
    ]


def _comparable(order: OrderRequest) -> bool:
    """Whether the order states both what was paid and every line's amount with its VAT."""
    paid = bool(order.payments) and all(p.amount is not None for p in order.payments)
    lines = all(None not in (i.quantity, i.unit_price, i.unit_vat) for i in order.items)
    return paid and lines

"""The fixed list of functions an order-file layout may use, and what they read.

A layout is data a person edits, so it gets named values, not free code: a sum with a bug in
it is an invoice dispute. Amounts are rounded half up to cents per line and totals are sums
of the rounded lines, so they add up line by line the way ERPs and PEPPOL check them. The
money itself (lines, fees, order discounts) is reckoned in etl.to_erp.orders.amounts. A function
that cannot give a correct value for this order (its money, its buyer's identifier) raises
Unwritable: the layout then holds the order with the reason instead of writing it wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from etl.to_erp.orders import amounts
from etl.to_erp.orders.amounts import line_total, line_vat, money_sum
from etl.to_erp.orders.buyer_ids import buyer_endpoint, is_business, numbers_given
from etl.to_erp.orders.model import ClientCustomer, Discount, Fee, OrderItem, OrderRequest

Kind = Literal["text", "decimal", "int", "bool", "datetime"]
Value = str | Decimal | int | bool | dt.datetime | None


class Unwritable(Exception):
    """This value cannot be written correctly for this order: the layout must not take it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked(order: OrderRequest) -> amounts.Amounts:
    """The order's totals, or Unwritable when its money cannot be written correctly."""
    memo = _reckoned.get()
    found = memo.get(id(order)) if memo is not None else None
    if found is not None and found[0] is order:
        reckoned = found[1]
    else:
        problems = amounts.problems(order)
        reckoned = Unwritable("; ".join(problems)) if problems else amounts.of(order)
        if memo is not None:
            memo[id(order)] = (order, reckoned)
    if isinstance(reckoned, Unwritable):
        raise Unwritable(reckoned.reason)
    return reckoned


# A layout asks for an order's totals in many cells (eight in the PEPPOL layout): within one
# `reckoning()` (one unit prepared) they are reckoned once. The order models are frozen, and
# the memo holds each order it keeps an id for, so an id cannot stand for another order.
_Memo = dict[int, tuple[OrderRequest, amounts.Amounts | Unwritable]]
_reckoned: ContextVar[_Memo | None] = ContextVar("reckoned", default=None)


@contextmanager
def reckoning() -> Iterator[None]:
    """Reckon each order's totals once inside this block (the order must not change in it)."""
    token = _reckoned.set({})
    try:
        yield
    finally:
        _reckoned.reset(token)


@dataclass(frozen=True)
class Context:
    """Where a value is read: the order, and the list entry of a repeating record."""

    order: OrderRequest
    item: BaseModel | None = None
    position: int | None = None  # 1-based place of `item` in its record's rows


def _items(ctx: Context, fees: bool | None = None) -> list[OrderItem]:
    return [i for i in ctx.order.items if fees is None or i.is_fee == fees]


def _current_line_total(ctx: Context) -> Value:
    return line_total(ctx.item) if isinstance(ctx.item, OrderItem) else None


def _entry_ex_vat(ctx: Context) -> Value:
    """An Items line, a Fees entry or a Discounts entry, ex VAT."""
    item = ctx.item
    if isinstance(item, OrderItem):
        return line_total(item)
    checked(ctx.order)  # a fee or a discount is only as right as the order's money
    if isinstance(item, Fee):
        return amounts.fee_ex_vat(item)
    if isinstance(item, Discount):
        split = amounts.discount_split(ctx.order, item)
        return split.ex_vat if split is not None else None
    return None


def _entry_vat(ctx: Context) -> Value:
    item = ctx.item
    if isinstance(item, OrderItem):
        return line_vat(item)
    checked(ctx.order)
    if isinstance(item, Fee):
        return amounts.fee_vat(item)
    if isinstance(item, Discount):
        split = amounts.discount_split(ctx.order, item)
        return split.vat if split is not None else None
    return None


def _entry_vat_rate(ctx: Context) -> Value:
    item = ctx.item
    if isinstance(item, OrderItem):
        return item.vat_rate
    if isinstance(item, Fee):
        checked(ctx.order)
        return item.vat_rate
    if isinstance(item, Discount):
        checked(ctx.order)
        return amounts.discount_rate(ctx.order)
    return None


def _tax_category(ctx: Context) -> Value:
    """UNCL5305: S (standard rate) when VAT is charged, Z (zero rated) when the rate is 0."""
    rate = _entry_vat_rate(ctx)
    if not isinstance(rate, Decimal):
        return None
    return "S" if rate > 0 else "Z"


def _discount_amount(ctx: Context) -> Value:
    item = ctx.item
    if not isinstance(item, Discount):
        return None
    checked(ctx.order)
    return amounts.money(abs(item.amount)) if item.amount is not None else None


def _unit_discount(ctx: Context) -> Value:
    """UnitPriceOriginal - UnitPrice when the line was sold below its list price."""
    item = ctx.item
    if not isinstance(item, OrderItem) or None in (item.unit_price, item.unit_price_original):
        return None
    off = (item.unit_price_original or 0) - (item.unit_price or 0)
    return off if off > 0 else None


def _discount_reason(ctx: Context) -> Value:
    item = ctx.item
    if not isinstance(item, Discount):
        return None
    words = [str(w) for w in (item.type, item.code) if w not in (None, "")]
    return " ".join(words) or "Discount"


def _promotion_codes(ctx: Context) -> Value:
    item = ctx.item
    if not isinstance(item, OrderItem):
        return None
    codes = [
        p.discount_code or p.name or (str(p.id) if p.id is not None else "")
        for p in item.promotions
    ]
    return ",".join(c for c in codes if c) or None


def _promotions_amount(ctx: Context) -> Value:
    item = ctx.item
    if not isinstance(item, OrderItem) or not item.promotions:
        return None
    return money_sum(p.applied_amount for p in item.promotions)


def _person_name(customer: ClientCustomer | None) -> str | None:
    person = customer.person if customer is not None else None
    if person is None:
        return None
    return " ".join(p for p in (person.first_name, person.last_name) if p) or None


def _care_of(customer: ClientCustomer | None) -> str | None:
    person = customer.person if customer is not None else None
    address = person.address if person is not None else None
    return f"c/o {address.care_of}" if address is not None and address.care_of else None


def _endpoint(ctx: Context, part: Literal["scheme", "value"]) -> Value:
    """The buyer's endpoint; a company must have one of its own (only a consumer has none)."""
    found = buyer_endpoint(ctx.order)
    if found is None and is_business(ctx.order):
        raise Unwritable(
            "the buyer is a company, but none of its numbers is a valid PEPPOL identifier "
            f"({numbers_given(ctx.order)}; Company.Code is the ERP's number, not one of "
            "them): correct the GLN or VatNo in Norce; the shop's own endpoint never stands "
            "in for a company"
        )
    return getattr(found, part) if found is not None else None


def _name(customer: ClientCustomer | None) -> str | None:
    """The company's name, else the person's first and last name."""
    if customer is None:
        return None
    if customer.company is not None and customer.company.name:
        return customer.company.name
    person = customer.person
    if person is None:
        return None
    return " ".join(p for p in (person.first_name, person.last_name) if p) or None


@dataclass(frozen=True)
class Function:
    """One entry of the fixed list: what it gives, where it may be used, what it means."""

    kind: Kind
    where: Literal["any", "each", "items"]  # any record / a repeating record / each = "Items"
    compute: Callable[[Context], Value]
    meaning: str


FUNCTIONS: dict[str, Function] = {
    "position": Function(
        "int", "each", lambda c: c.position, "1, 2, 3... the row's place in its record"
    ),
    "line_total": Function(
        "decimal",
        "items",
        _current_line_total,
        "Quantity x UnitPrice of this line, rounded half up to 2 decimals",
    ),
    "lines_total": Function(
        "decimal",
        "any",
        lambda c: money_sum(line_total(i) for i in _items(c)),
        "sum of line_total() over all Items, fee lines included (ex VAT)",
    ),
    "goods_total": Function(
        "decimal",
        "any",
        lambda c: money_sum(line_total(i) for i in _items(c, fees=False)),
        "the same over the goods lines only",
    ),
    "fees_total": Function(
        "decimal",
        "any",
        lambda c: money_sum(line_total(i) for i in _items(c, fees=True)),
        "the same over the fee lines only (freight, invoice fee)",
    ),
    "vat_total": Function(
        "decimal",
        "any",
        lambda c: money_sum(line_vat(i) for i in _items(c)),
        "sum over all Items of Quantity x UnitVat, each rounded to cents (the lines' VAT)",
    ),
    "total_incl_vat": Function(
        "decimal",
        "any",
        lambda c: (
            money_sum(line_total(i) for i in _items(c)) + money_sum(line_vat(i) for i in _items(c))
        ),
        "lines_total() + vat_total(): the Items incl VAT",
    ),
    "order_ex_vat": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).ex_vat,
        "lines_total() + charges_total() - discounts_ex_vat(): what the order is worth ex VAT",
    ),
    "order_vat": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).vat,
        "VAT of the order: vat_total() + the Fees' VAT - the Discounts' VAT",
    ),
    "order_total": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).incl_vat,
        "order_ex_vat() + order_vat(): what the customer pays",
    ),
    "charges_total": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).charges_ex_vat if c.order.fees else None,
        "sum of Fees[].Amount (ex VAT), the fees Norce sends outside the Items; empty if none",
    ),
    "discounts_total": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).discounts_incl_vat if c.order.discounts else None,
        "sum of Discounts[].Amount (order-level discounts, vouchers; incl VAT); empty if none",
    ),
    "discounts_ex_vat": Function(
        "decimal",
        "any",
        lambda c: checked(c.order).discounts_ex_vat if c.order.discounts else None,
        "the same ex VAT (each discount split at the goods' VAT rate); empty if none",
    ),
    "ex_vat": Function(
        "decimal",
        "each",
        _entry_ex_vat,
        "this Items line, Fees or Discounts entry ex VAT, in cents",
    ),
    "vat": Function(
        "decimal", "each", _entry_vat, "the VAT of this Items line, Fees or Discounts entry"
    ),
    "vat_rate": Function(
        "decimal",
        "each",
        _entry_vat_rate,
        "VatRate of this line or fee; a discount's is the goods' rate",
    ),
    "tax_category": Function(
        "text", "each", _tax_category, "S when vat_rate() is above 0, Z when it is 0 (UNCL5305)"
    ),
    "discount_amount": Function(
        "decimal",
        "each",
        _discount_amount,
        "a Discounts entry's Amount (incl VAT), as a positive sum",
    ),
    "unit_discount": Function(
        "decimal",
        "items",
        _unit_discount,
        "UnitPriceOriginal - UnitPrice of this line when above 0 (promotions, price discounts)",
    ),
    "list_price": Function(
        "decimal",
        "items",
        lambda c: (
            c.item.unit_price_original
            if isinstance(c.item, OrderItem) and _unit_discount(c) is not None
            else None
        ),
        "UnitPriceOriginal of this line when unit_discount() has a value; else empty",
    ),
    "unit_discount_indicator": Function(
        "text",
        "items",
        lambda c: "false" if _unit_discount(c) is not None else None,
        "`false` (an allowance, not a charge) when unit_discount() has a value; else empty",
    ),
    "discount_reason": Function(
        "text", "each", _discount_reason, "a Discounts entry's Type and Code: `Voucher SAVE150`"
    ),
    "promotion_codes": Function(
        "text",
        "items",
        _promotion_codes,
        "this line's Promotions, their DiscountCode (else Name) joined by commas",
    ),
    "promotions_amount": Function(
        "decimal",
        "items",
        _promotions_amount,
        "sum of this line's Promotions[].AppliedAmount (already inside UnitPrice)",
    ),
    "payments_total": Function(
        "decimal",
        "any",
        lambda c: money_sum(p.amount for p in c.order.payments),
        "sum of Payments[].Amount",
    ),
    "customer_name": Function(
        "text",
        "any",
        lambda c: _name(c.order.sell_to),
        "SellTo's company name, else its person's first and last name",
    ),
    "ship_to_name": Function(
        "text",
        "any",
        lambda c: _name(c.order.ship_to),
        "the same for ShipTo",
    ),
    "contact_name": Function(
        "text",
        "any",
        lambda c: _person_name(c.order.sell_to),
        "SellTo's person, first and last name",
    ),
    "ship_to_contact": Function(
        "text", "any", lambda c: _person_name(c.order.ship_to), "the same for ShipTo"
    ),
    "ship_to_care_of": Function(
        "text",
        "any",
        lambda c: _care_of(c.order.ship_to),
        "`c/o ` and ShipTo's Address.CareOf, when there is one",
    ),
    "buyer_endpoint": Function(
        "text",
        "any",
        lambda c: _endpoint(c, "value"),
        "the buyer's PEPPOL id: a GLN, else its national number, else its VAT number",
    ),
    "buyer_endpoint_scheme": Function(
        "text",
        "any",
        lambda c: _endpoint(c, "scheme"),
        "its EAS scheme, by the buyer's country: 0088, 0007, 0192, 0184, 0208, 0216, 99xx",
    ),
}

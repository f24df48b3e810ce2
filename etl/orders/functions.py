"""The fixed list of functions an order-file layout may use, and what they read.

A layout is data a person edits, so it gets named values, not free code: a sum with a bug in
it is an invoice dispute. Amounts are rounded half up to cents per line and totals are sums
of the rounded lines, so they add up line by line the way ERPs and PEPPOL check them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel

from etl.orders.model import ClientCustomer, OrderItem, OrderRequest

Kind = Literal["text", "decimal", "int", "bool", "datetime"]
Value = str | Decimal | int | bool | dt.datetime | None


@dataclass(frozen=True)
class Context:
    """Where a value is read: the order, and the list entry of a repeating record."""

    order: OrderRequest
    item: BaseModel | None = None
    position: int | None = None  # 1-based place of `item` in its record's rows


_CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _line_total(item: OrderItem) -> Decimal | None:
    """Quantity x UnitPrice, rounded to cents: totals add up line by line, as ERPs check."""
    if item.quantity is None or item.unit_price is None:
        return None
    return _money(item.quantity * item.unit_price)


def _line_vat(item: OrderItem) -> Decimal | None:
    if item.quantity is None or item.unit_vat is None:
        return None
    return _money(item.quantity * item.unit_vat)


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    # A missing amount counts as nothing: a total must still be written for the other lines.
    return sum((v for v in values if v is not None), Decimal("0.00"))


def _items(ctx: Context, fees: bool | None = None) -> list[OrderItem]:
    return [i for i in ctx.order.items if fees is None or i.is_fee == fees]


def _current_line_total(ctx: Context) -> Value:
    return _line_total(ctx.item) if isinstance(ctx.item, OrderItem) else None


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
        lambda c: _sum(_line_total(i) for i in _items(c)),
        "sum of line_total() over all Items, fee lines included (ex VAT)",
    ),
    "goods_total": Function(
        "decimal",
        "any",
        lambda c: _sum(_line_total(i) for i in _items(c, fees=False)),
        "the same over the goods lines only",
    ),
    "fees_total": Function(
        "decimal",
        "any",
        lambda c: _sum(_line_total(i) for i in _items(c, fees=True)),
        "the same over the fee lines only (freight, invoice fee)",
    ),
    "vat_total": Function(
        "decimal",
        "any",
        lambda c: _sum(_line_vat(i) for i in _items(c)),
        "sum over all Items of Quantity x UnitVat, each rounded to 2 decimals",
    ),
    "total_incl_vat": Function(
        "decimal",
        "any",
        lambda c: _sum(_line_total(i) for i in _items(c)) + _sum(_line_vat(i) for i in _items(c)),
        "lines_total() + vat_total()",
    ),
    "payments_total": Function(
        "decimal",
        "any",
        lambda c: _sum(p.amount for p in c.order.payments),
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
}

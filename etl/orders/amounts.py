"""The money in an order: lines, fees and order-level discounts, ex and incl VAT.

How Norce's amounts are read (reference section 11; README, "Order files"):
- Items: `UnitPrice` and `UnitVat` per unit, ex VAT; a line is Quantity x each, in cents.
- Fees[] (rarely used): `Amount` ex VAT, like the items' prices, and `VatRate` in percent.
- Discounts[] (vouchers, order discounts not on any line): `Amount` is money off what the
  customer pays, so incl VAT. Its VAT is split off at the goods lines' rate; when the goods
  carry several rates the split is not known, and the order is held (etl.orders.checks).
- Promotions on a line are already inside its UnitPrice: they move no total.
Every amount is rounded half up to cents on its own and totals are sums of those, so a file's
head agrees with its lines, as ERPs and the PEPPOL rules check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from etl.orders.model import Discount, Fee, OrderItem, OrderRequest

_CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal) -> Decimal:
    """Rounded half up to cents."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def money_sum(values: Iterable[Decimal | None]) -> Decimal:
    """A sum where a missing amount counts as nothing: the other lines still need a total."""
    return sum((v for v in values if v is not None), ZERO)


def line_total(item: OrderItem) -> Decimal | None:
    """Quantity x UnitPrice, in cents."""
    if item.quantity is None or item.unit_price is None:
        return None
    return money(item.quantity * item.unit_price)


def line_vat(item: OrderItem) -> Decimal | None:
    """Quantity x UnitVat, in cents."""
    if item.quantity is None or item.unit_vat is None:
        return None
    return money(item.quantity * item.unit_vat)


def fee_ex_vat(fee: Fee) -> Decimal | None:
    """A Fees entry's Amount, in cents."""
    return money(fee.amount) if fee.amount is not None else None


def fee_vat(fee: Fee) -> Decimal | None:
    """A Fees entry's VAT: Amount x VatRate / 100, in cents."""
    if fee.amount is None:
        return None
    return money(fee.amount * (fee.vat_rate or 0) / 100)


def goods_rates(order: OrderRequest) -> set[Decimal]:
    """The VAT rates of the goods lines (fee lines left out)."""
    return {i.vat_rate for i in order.items if not i.is_fee and i.vat_rate is not None}


def discount_rate(order: OrderRequest) -> Decimal | None:
    """The VAT rate an order-level discount is split at; None when the goods have several."""
    rates = goods_rates(order)
    if len(rates) > 1:
        return None
    return next(iter(rates), Decimal(0))


@dataclass(frozen=True)
class Split:
    """An amount incl VAT split into its part ex VAT and its VAT."""

    ex_vat: Decimal
    vat: Decimal


def discount_split(order: OrderRequest, discount: Discount) -> Split | None:
    """The discount ex VAT and its VAT (they add up to Amount exactly); None if unknown."""
    rate = discount_rate(order)
    if rate is None or discount.amount is None:
        return None
    incl = money(abs(discount.amount))  # a voucher of 150 may come as -150
    ex_vat = money(incl * 100 / (100 + rate))
    return Split(ex_vat, incl - ex_vat)


@dataclass(frozen=True)
class Amounts:
    """The order's totals, each a sum of amounts already rounded to cents."""

    lines_ex_vat: Decimal
    lines_vat: Decimal
    charges_ex_vat: Decimal
    charges_vat: Decimal
    discounts_incl_vat: Decimal
    discounts_ex_vat: Decimal
    discounts_vat: Decimal

    @property
    def ex_vat(self) -> Decimal:
        """Lines + fees - discounts, ex VAT."""
        return self.lines_ex_vat + self.charges_ex_vat - self.discounts_ex_vat

    @property
    def vat(self) -> Decimal:
        """The VAT of lines + fees - discounts."""
        return self.lines_vat + self.charges_vat - self.discounts_vat

    @property
    def incl_vat(self) -> Decimal:
        """What the customer pays for the order."""
        return self.ex_vat + self.vat


def of(order: OrderRequest) -> Amounts:
    """The order's totals; a discount whose VAT split is unknown counts wholly ex VAT."""
    splits = [
        discount_split(order, d) or Split(money(abs(d.amount or ZERO)), ZERO)
        for d in order.discounts
    ]
    return Amounts(
        lines_ex_vat=money_sum(line_total(i) for i in order.items),
        lines_vat=money_sum(line_vat(i) for i in order.items),
        charges_ex_vat=money_sum(fee_ex_vat(f) for f in order.fees),
        charges_vat=money_sum(fee_vat(f) for f in order.fees),
        discounts_incl_vat=money_sum(money(abs(d.amount)) for d in order.discounts if d.amount),
        discounts_ex_vat=money_sum(s.ex_vat for s in splits),
        discounts_vat=money_sum(s.vat for s in splits),
    )

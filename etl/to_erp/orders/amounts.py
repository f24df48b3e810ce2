"""The money in an order: lines, fees and order-level discounts, ex and incl VAT.

How Norce's amounts are read (reference section 11; docs/layouts.md, "Order files"):
- Items: `UnitPrice` and `UnitVat` per unit, ex VAT; a line is Quantity x each, in cents.
- Fees[] (rarely used): `Amount` ex VAT, like the items' prices, and `VatRate` in percent.
- Discounts[] (vouchers, order discounts not on any line): `Amount` is money off what the
  customer pays, so incl VAT. Its VAT is split off at the goods lines' rate (a line without
  VatRate has the rate its UnitVat / UnitPrice shows, when only one rate fits); when the
  goods carry several rates, or one is not known, the split is not known.
- Promotions on a line are already inside its UnitPrice: they move no total.
`problems` says why an order's money cannot be written correctly in any layout: such an
order is held when it arrives, and a layout refuses it even after a release.
Every amount is rounded half up to cents on its own and totals are sums of those, so a file's
head agrees with its lines, as ERPs and the PEPPOL rules check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from etl.to_erp.orders.model import Discount, Fee, OrderItem, OrderRequest

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


_HALF_CENT = Decimal("0.005")
_RATE_STEP = Decimal("0.5")  # VAT rates are whole or half percents (25, 25.5, 12, 6, 0)


def effective_rate(item: OrderItem) -> Decimal | None:
    """The line's VatRate, else the one rate its UnitVat / UnitPrice shows; None if unclear.

    UnitVat is rounded to cents, so a small price fits several rates: only a rate that alone
    gives the UnitVat to half a cent is taken.
    """
    if item.vat_rate is not None:
        return item.vat_rate
    if item.unit_price is None or item.unit_vat is None or item.unit_price == 0:
        return None
    guess = (item.unit_vat * 100 / item.unit_price / _RATE_STEP).quantize(Decimal(1)) * _RATE_STEP
    price, vat = item.unit_price, item.unit_vat
    fits = [r for r in (guess - _RATE_STEP, guess, guess + _RATE_STEP) if _gives(price, vat, r)]
    if fits != [guess]:
        return None
    return guess.quantize(Decimal(1)) if guess == guess.to_integral() else guess


def _gives(unit_price: Decimal, unit_vat: Decimal, rate: Decimal) -> bool:
    """Whether UnitPrice x rate is UnitVat, to half a cent (UnitVat is rounded to cents)."""
    return abs(unit_price * rate / 100 - unit_vat) <= _HALF_CENT


def goods(order: OrderRequest) -> list[OrderItem]:
    """The goods lines: fee lines (freight, invoice fee) left out."""
    return [i for i in order.items if not i.is_fee]


def goods_rates(order: OrderRequest) -> set[Decimal | None]:
    """The VAT rates of the goods lines; None stands for a line whose rate is not known."""
    return {effective_rate(i) for i in goods(order)}


def discount_rate(order: OrderRequest) -> Decimal | None:
    """The VAT rate an order-level discount is split at; None when not one known rate."""
    rates = goods_rates(order)
    if len(rates) != 1:
        return None
    return next(iter(rates))


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


def problems(order: OrderRequest) -> list[str]:
    """Why the order's money cannot be written correctly: each a reason, for a person."""
    found = [p for d in enumerate(order.discounts, 1) if (p := _discount_problem(*d))]
    if order.discounts and discount_rate(order) is None:
        found.append(_unknown_split(order))
    found += [p for f in enumerate(order.fees, 1) if (p := _fee_problem(*f))]
    found += [p for i in order.items if (p := rate_problem(f"line {_no(i)}", i.vat_rate))]
    total = of(order).incl_vat
    if total < 0:
        found.append(
            f"the order's total is negative ({total} incl VAT): a return or a credit is not "
            "an order the ERP can import; book it in the ERP as a credit"
        )
    return found


def rate_problem(where: str, rate: Decimal | None) -> str | None:
    """Why `rate` is not a VAT percent; None when it is one (or is not given)."""
    if rate is None or rate == 0 or 2 <= rate < 100:
        return None
    if 0 < rate < 2:
        return (
            f"{where}: VatRate {rate} looks like a multiplier (1 + rate), not a percent: "
            "ask how the Norce tenant sends VatRate (reference section 11)"
        )
    return f"{where}: VatRate {rate} is not a VAT percent"


def _discount_problem(number: int, discount: Discount) -> str | None:
    if discount.amount is None:
        return f"Discounts[{number}] ({_words(discount.type, discount.code)}) has no Amount"
    return None


def _fee_problem(number: int, fee: Fee) -> str | None:
    where = f"Fees[{number}] ({_words(fee.type, fee.description)})"
    if fee.amount is None:
        return f"{where} has no Amount"
    if fee.amount < 0:
        return (
            f"{where} is negative ({fee.amount}): a fee cannot lower the order; "
            "money off belongs in Discounts"
        )
    if fee.vat_rate is None:
        return f"{where} has no VatRate: its VAT is not known"
    return rate_problem(where, fee.vat_rate)


def _unknown_split(order: OrderRequest) -> str:
    rates = goods_rates(order)
    known = ", ".join(str(r) for r in sorted(r for r in rates if r is not None))
    if None in rates:
        why = "a goods line has no VatRate (and its UnitVat shows no single rate)"
    else:
        why = f"the goods carry several VAT rates ({known})"
    return (
        f"an order-level discount whose VAT split is not known: {why}. Ask how Norce booked "
        "it and enter the order in the ERP by hand; no layout writes it, even after a release"
    )


def _words(*words: object) -> str:
    return " ".join(str(w) for w in words if w not in (None, "")) or "no type"


def _no(item: OrderItem) -> str:
    return str(item.line_no) if item.line_no is not None else "?"

"""Checks shared by the entities, written as polars expressions so 1M rows stay cheap.

A check's `name` becomes the error code in rejected-row reports (see etl.validate).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# Norce part numbers, warehouse and location codes: no spaces, printable, at most 50.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,49}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# Largest amount that survives JSON as a float exactly: 15 significant digits at scale 4.
MAX_AMOUNT = 99_999_999_999

MONEY = pl.Decimal(18, 4)
QUANTITY = pl.Decimal(18, 4)


def code(max_len: int = 50) -> list[pa.Check]:
    """A Norce code: letters, digits and . _ / -, no spaces."""
    pattern = CODE_PATTERN.replace("49", str(max_len - 1))
    return [pa.Check.str_matches(pattern)]


def amount(*, strictly_positive: bool = False) -> list[pa.Check]:
    """A money amount in range; Norce ignores a 0 price, so some amounts must be above 0."""
    low = pa.Check.gt(0) if strictly_positive else pa.Check.ge(0)
    return [low, pa.Check.le(MAX_AMOUNT)]


def quantity(*, negative: bool = False) -> list[pa.Check]:
    """A quantity within what JSON carries exactly (see MAX_AMOUNT); stock may go negative."""
    return [pa.Check.in_range(-MAX_AMOUNT if negative else 0, MAX_AMOUNT)]


def _gtin_ok(data: pa.PolarsData) -> pl.LazyFrame:
    """GTIN-8/12/13/14 (EAN) with a valid mod-10 check digit; nulls pass (optional field)."""
    col = pl.col(data.key)
    shape_ok = col.str.contains(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")
    # Integer arithmetic, not 14 string slices: at most 14 digits fit a UInt64 easily.
    number = pl.when(shape_ok).then(col).cast(pl.UInt64, strict=False)
    # From the right: the check digit, then weights 3,1,3,1... (as in a zero-padded GTIN-14).
    digits = [(number // (10**k)) % 10 for k in range(14)]
    weighted = pl.sum_horizontal([d * (3 if k % 2 else 1) for k, d in enumerate(digits)])
    check_ok = weighted % 10 == 0
    return data.lazyframe.select(col.is_null() | (shape_ok & check_ok).fill_null(False))


GTIN = pa.Check(_gtin_ok, name="checksum")

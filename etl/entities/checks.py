"""Checks shared by the entities, written as polars expressions so 1M rows stay cheap.

A check's `name` becomes the error code in rejected-row reports (see etl.read.validate).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# Norce part numbers, warehouse and location codes: no spaces, printable, at most 50.
# Stricter than Norce (see norce_code): such codes survive any file name, URL, CSV
# cell or ERP screen unchanged. A contract relaxes a field to Norce's rule by name.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,49}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# Largest amount that survives JSON as a float exactly: 15 significant digits at scale 4.
MAX_AMOUNT = 99_999_999_999

MONEY = pl.Decimal(18, 4)
QUANTITY = pl.Decimal(18, 4)


# The strict code patterns `code()` made, with their lengths: how a schema's code rule is
# known again (to relax it, to word its message).
_CODE_LENGTHS: dict[str, int] = {}


def code(max_len: int = 50) -> list[pa.Check]:
    """A Norce code: letters, digits and . _ / -, no spaces."""
    pattern = CODE_PATTERN.replace("49", str(max_len - 1))
    _CODE_LENGTHS[pattern] = max_len
    return [pa.Check.str_matches(pattern)]


# What Norce itself takes (strings, nvarchar(50)): printable text, spaces inside only. No
# control characters (tab, line break), no other kind of space (a no-break space looks like
# a space and is another code), nothing at either end a person cannot see. Python's `re`
# (which pandera's str_matches compiles with) has no \p{..}: polars (Rust regex) runs it.
_VISIBLE = r"[^\p{C}\p{Z}]"
NORCE_CODE = "norce_code"  # the check's name; its error code in reports is `pattern`


def code_length(pattern: str) -> int | None:
    """The length of the strict code rule `code()` made with `pattern`; None for any other."""
    return _CODE_LENGTHS.get(pattern)


def norce_code(max_len: int = 50) -> list[pa.Check]:
    """A code as Norce takes it: printable, spaces inside only, 1 to `max_len` characters."""

    def takes(data: pa.PolarsData) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | _norce_takes(col, max_len))

    return [pa.Check(takes, name=NORCE_CODE, error=f"{NORCE_CODE}({max_len})")]


def norce_takes(value: str, max_len: int) -> bool:
    """Whether Norce's own code rule takes `value` (what relaxing the field would allow)."""
    return bool(pl.select(_norce_takes(pl.lit(value), max_len)).item())


# Norce's nvarchar(n) holds n UTF-16 code units: a character outside the Basic Multilingual
# Plane (an emoji) takes two, so 50 of them are 100 units and would not fit.
_ASTRAL = r"[\x{10000}-\x{10FFFF}]"


def _norce_takes(col: pl.Expr, max_len: int) -> pl.Expr:
    """Printable, spaces inside only, and at most `max_len` UTF-16 code units."""
    units = col.str.len_chars() + col.str.count_matches(_ASTRAL)
    return col.str.contains(_norce_pattern(max_len)) & (units <= max_len)


def _norce_pattern(max_len: int) -> str:
    inner = f"(?:(?:{_VISIBLE}| ){{0,{max_len - 2}}}{_VISIBLE})?" if max_len > 1 else ""
    return f"^{_VISIBLE}{inner}$"


def relaxed(checks: list[pa.Check]) -> list[pa.Check] | None:
    """`checks` with the strict code rule swapped for Norce's own; None when there is none."""
    out, found = [], False
    for check in checks:
        length = code_length(str((check.statistics or {}).get("pattern")))
        if check.name == "str_matches" and length is not None:
            out += norce_code(length)
            found = True
        else:
            out.append(check)
    return out if found else None


def amount(*, strictly_positive: bool = False) -> list[pa.Check]:
    """A money amount in range; Norce ignores a 0 price, so some amounts must be above 0."""
    low = pa.Check.gt(0) if strictly_positive else pa.Check.ge(0)
    return [low, pa.Check.le(MAX_AMOUNT)]


def quantity(*, negative: bool = False) -> list[pa.Check]:
    """A quantity within what JSON carries exactly (see MAX_AMOUNT); stock may go negative."""
    return [pa.Check.in_range(-MAX_AMOUNT if negative else 0, MAX_AMOUNT)]


_NUMBER = "_gtin_number"  # the check's own column, dropped by its select

# The lengths of a GTIN-8, -12 (UPC-A), -13 (EAN) and -14.
GTIN_LENGTHS = (8, 12, 13, 14)


def _gtin_ok(data: pa.PolarsData) -> pl.LazyFrame:
    """GTIN-8/12/13/14 (EAN) with a valid mod-10 check digit; nulls pass (optional field)."""
    col = pl.col(data.key)
    # Only digits, 8, 12, 13 or 14 of them: the cast to a number refuses any other character
    # but a leading `+`; the length is counted in bytes, so a digit outside ASCII (which the
    # cast refuses too) cannot make up one. Half the CPU of a regex per cell (1M codes).
    shape_ok = col.str.len_bytes().is_in(GTIN_LENGTHS) & ~col.str.starts_with("+")
    # Integer arithmetic, not 14 string slices: at most 14 digits fit a UInt64 easily. The
    # number is a column of its own first: as one expression, every term parsed the text again.
    number = pl.when(shape_ok).then(col).cast(pl.UInt64, strict=False)
    staged = data.lazyframe.select(col, number.alias(_NUMBER))
    # GS1 weighs the digits 1, 3, 1, 3... from the right (the check digit weighs 1). With
    # u_k = number // 10^k, digit k is u_k - 10 u_(k+1), so the weighted sum is
    # sum_k u_k (w_k - 10 w_(k-1)): u_0 + sum over odd k of -7 u_k + over even k >= 2 of -29 u_k,
    # which is, modulo 10, the even prefixes plus 3 times the odd ones (14 divisions, no
    # digit taken apart; the sum stays below 3e15).
    prefixes = [pl.col(_NUMBER), *(pl.col(_NUMBER) // (10**k) for k in range(1, 14))]
    weighted = pl.sum_horizontal(prefixes[0::2]) + 3 * pl.sum_horizontal(prefixes[1::2])
    # sum_horizontal counts a null as 0: a code that is no number fails on its own.
    ok = col.is_null() | (pl.col(_NUMBER).is_not_null() & (weighted % 10 == 0))
    return staged.select(ok.alias(data.key))


GTIN = pa.Check(_gtin_ok, name="checksum")

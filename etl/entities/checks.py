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


_SHAPE, _NUMBER = "_gtin_shape", "_gtin_number"  # the check's own columns, dropped by its select


def _gtin_ok(data: pa.PolarsData) -> pl.LazyFrame:
    """GTIN-8/12/13/14 (EAN) with a valid mod-10 check digit; nulls pass (optional field)."""
    col = pl.col(data.key)
    shape_ok = col.str.contains(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")
    # Integer arithmetic, not 14 string slices: at most 14 digits fit a UInt64 easily. The
    # number is a column of its own first: as one expression, the 14 digits each parsed the
    # text again (2.4x the CPU at a million codes).
    number = pl.when(pl.col(_SHAPE)).then(col).cast(pl.UInt64, strict=False)
    staged = data.lazyframe.select(col, shape_ok.alias(_SHAPE)).with_columns(number.alias(_NUMBER))
    # From the right: the check digit, then weights 3,1,3,1... (as in a zero-padded GTIN-14),
    # two digits at a time: pair p = 10*d1 + d0 weighs d0 + 3*d1 = p - 7*(p // 10).
    pairs = [(pl.col(_NUMBER) // (100**j)) % 100 for j in range(7)]
    weighted = pl.sum_horizontal([p - 7 * (p // 10) for p in pairs])
    check_ok = weighted % 10 == 0
    ok = col.is_null() | (pl.col(_SHAPE) & check_ok).fill_null(False)
    return staged.select(ok.alias(data.key))


GTIN = pa.Check(_gtin_ok, name="checksum")

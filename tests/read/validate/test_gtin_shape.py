"""The GTIN check tells a code's shape by its length in bytes and the cast to a number, not
by a regex per cell. Its verdict must be the rule's: 8, 12, 13 or 14 ASCII digits whose
GS1 check digit is right; anything else fails, whatever the cast makes of it."""

from __future__ import annotations

import re

import pandera.polars as pa
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl.entities.checks import _gtin_ok

# What the cast to a number might take for digits: signs, spaces, separators, exponents,
# hex and binary prefixes, digits of other scripts (Arabic-Indic, full-width), a line break.
_ALPHABET = "0123456789" * 4 + "+- _.,exb\n\u0663\uff11"


def _rule(code: str | None) -> bool:
    """The check written out: nulls pass; else GS1's digit by digit on ASCII digits only."""
    if code is None:
        return True
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12,14}", code):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(code)))
    return total % 10 == 0


def _checked(codes: list[str | None]) -> list[bool]:
    frame = pl.LazyFrame({"ean": pl.Series(codes, dtype=pl.String)})
    return _gtin_ok(pa.PolarsData(frame, "ean")).collect()["ean"].to_list()


def _with_check_digit(payload: str) -> str:
    total = sum(int(d) * (1 if i % 2 else 3) for i, d in enumerate(reversed(payload)))
    return payload + str((10 - total % 10) % 10)


_CODES = st.one_of(
    st.none(),
    st.text(_ALPHABET, min_size=6, max_size=16),
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n).map(_with_check_digit)
    ),
)


@settings(max_examples=300, deadline=None)
@given(codes=st.lists(_CODES, min_size=1, max_size=30))
@example(codes=["+4006381333931", "+1234567", "4006381333931", "00000000", "+0000000"])
@example(codes=["\u0663" * 8, "\uff11" * 8, "-0000000", "1e345678", " 4006381333931"])
def test_gtin_check_is_the_rule(codes: list[str | None]) -> None:
    assert _checked(codes) == [_rule(c) for c in codes]


def test_digits_of_other_scripts_fail() -> None:
    # Found here: they matched the old shape regex (`\d` is any script's digit), the cast
    # made them null, and a sum of nulls is 0, a right check digit: the codes passed.
    codes = ["\u0663" * 8, "\uff11" * 8, "\u0663" * 13, "\u0967" * 14]
    assert _checked(codes) == [False] * 4

"""EAN/GTIN check digits: known codes pass, any single-digit change fails, and every code
gets the verdict GS1's rule, written out digit by digit, gives it."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.models import LINE
from etl.read.validate import validate
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import shipped
from tests.support.paths import SAMPLES

KNOWN_VALID = [
    "4006381333931",  # EAN-13 (the classic Wikipedia example)
    "7350000000016",  # EAN-13, Swedish prefix
    "5901234123457",  # EAN-13
    "96385074",  # GTIN-8
    "73513537",  # GTIN-8
    "036000291452",  # GTIN-12 / UPC-A
    "10012345678902",  # GTIN-14
    "00012345600012",  # GTIN-14 padding a UPC-A
]


def ean_failures(codes: list[str | None]) -> list[int]:
    """Indexes of the codes the product schema rejects, checked in one frame."""
    contract = shipped("products")
    text = pl.DataFrame(
        {f: pl.Series([None] * len(codes), dtype=pl.String) for f in contract.entity.fields()}
    ).with_columns(
        part_no=pl.format("P{}", pl.int_range(pl.len())),
        manufacturer_code=pl.lit("ACME"),
        name=pl.lit("Namn"),
        ean=pl.Series(codes, dtype=pl.String),
        **{LINE: pl.int_range(pl.len(), dtype=pl.Int64)},
    )
    rejections = validate(text, contract).rejections
    assert set(rejections["code"]) <= {"checksum"}
    return sorted(rejections["line"].to_list())


def check_digit(payload: str) -> str:
    """The GS1 mod-10 check digit, written out independently of etl.entities.checks."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


def test_known_codes_pass() -> None:
    for code in KNOWN_VALID:
        assert check_digit(code[:-1]) == code[-1], f"test data: {code}"

    assert ean_failures([*KNOWN_VALID, None]) == []


def test_wrong_shapes_fail() -> None:
    # Right check digits, wrong shapes: a letter, a space, a sign, 7, 11 and 15 digits.
    shapes = [
        "735000000001X",
        "7350 00000016",
        "+7350000000016",
        "9638507",
        "73500000001",
        "735000000001600",
    ]
    assert ean_failures(shapes) == [0, 1, 2, 3, 4, 5]


@settings(max_examples=60, deadline=None)
@given(
    payload=st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    ),
    position=st.integers(min_value=0),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_fails(payload: str, position: int, shift: int) -> None:
    code = payload + check_digit(payload)
    at = position % len(code)
    changed = code[:at] + str((int(code[at]) + shift) % 10) + code[at + 1 :]

    assert ean_failures([code, changed]) == [1]


def test_the_shipped_samples_hold_one_bad_check_digit(tmp_path: Path) -> None:
    validated = parse_and_validate(
        SAMPLES / "products" / "products_20261120.csv", shipped("products"), tmp_path
    )

    bad = validated.rejections.filter(pl.col("code") == "checksum")
    assert bad.select("line", "value").rows() == [(9, "7350000000037")]


def gs1_ok(code: str | None) -> bool:
    """GS1's rule written out digit by digit, apart from etl.entities.checks."""
    if code is None:
        return True
    if len(code) not in (8, 12, 13, 14) or not all(c in "0123456789" for c in code):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(reversed(code)))
    return total % 10 == 0


def test_every_digit_position_and_length_agrees_with_the_rule() -> None:
    draw = random.Random(18)
    codes: list[str | None] = [None, "99999999999999", "00000000000000", "00000000", "1" * 15]
    for length in (7, 8, 11, 12, 13, 14, 15):
        for _ in range(400):
            body = "".join(draw.choice("0123456789") for _ in range(length))
            codes.append(body)  # right about one in ten times, by chance
            codes.append(body[:-1] + str(draw.randrange(10)))
    codes += ["7350000000016", "735000000001X", " 7350000000016", "+7350000000016", ""]

    expected = {i for i, code in enumerate(codes) if not gs1_ok(code)}
    assert set(ean_failures(codes)) == expected
    assert 0 < len(expected) < len(codes) - 100  # both verdicts are exercised

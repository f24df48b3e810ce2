"""The EAN/GTIN check reckons two digits at a time: every code, its verdict as GS1's rule says."""

from __future__ import annotations

import random

import polars as pl

from etl.models import LINE
from etl.read.validate import validate
from tests.fixtures.feeds import shipped


def gs1_ok(code: str | None) -> bool:
    """GS1's rule written out digit by digit, apart from etl.entities.checks."""
    if code is None:
        return True
    if len(code) not in (8, 12, 13, 14) or not all(c in "0123456789" for c in code):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(reversed(code)))
    return total % 10 == 0


def rejected(codes: list[str | None]) -> set[int]:
    """Indexes of the codes the shipped products contract rejects, checked in one frame."""
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
    return set(rejections["line"].to_list())


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
    assert rejected(codes) == expected
    assert 0 < len(expected) < len(codes) - 100  # both verdicts are exercised

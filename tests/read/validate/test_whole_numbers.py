"""Whole-number fields: `1.0` (and `1,0` in a decimal-comma file) is the whole number 1;
a real fraction is refused with a message that says it is a fraction."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.feeds import check, price_contract, rejections

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"


def read_break(tmp_path: Path, cell: str, decimal: str = ".") -> tuple[list[object], list[str]]:
    """(quantity breaks read, rejection messages) of one price row whose Qty cell is `cell`."""
    path = tmp_path / "prices.csv"
    price = "10,00" if decimal == "," else "10.00"
    path.write_text(f"{HEADER}\nA;L;{cell};SEK;{price};\n", encoding="utf-8")
    contract = price_contract(tmp_path, f'delimiter = ";"\ndecimal = "{decimal}"')
    validated = check(path, contract, tmp_path / "scratch")
    return validated.valid["quantity_break"].to_list(), validated.rejections["message"].to_list()


@pytest.mark.parametrize(
    ("cell", "decimal"), [("1.0", "."), ("1.00", "."), ("+1.000", "."), ("1,0", ","), ("12,", ",")]
)
def test_a_whole_number_written_with_zero_decimals_is_that_whole_number(
    tmp_path: Path, cell: str, decimal: str
) -> None:
    read, messages = read_break(tmp_path, cell, decimal)

    assert messages == []
    assert read == [12 if cell == "12," else 1]


@pytest.mark.parametrize(("cell", "decimal"), [("1.5", "."), ("1,5", ","), ("1.05", ".")])
def test_a_fraction_in_a_whole_number_field_is_refused_as_a_fraction(
    tmp_path: Path, cell: str, decimal: str
) -> None:
    read, messages = read_break(tmp_path, cell, decimal)

    assert read == []
    assert messages == [
        f"{cell!r} has a fractional part; a whole number is needed here (1{decimal}0 is read as 1)"
    ]


def test_text_in_a_whole_number_field_is_still_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\nA;L;one;SEK;10.00;\n", encoding="utf-8")
    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), tmp_path / "scratch")

    assert rejections(validated) == [(2, "quantity_break", "Qty", "type")]
    assert validated.rejections["message"].to_list() == ["'one' is not a whole number"]

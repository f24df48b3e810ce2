"""Decimals rounded by contract ([rounding]): exactly, as declared, never through a float.

Without a [rounding] entry a value with more decimals than the field keeps is refused, and
the message names the key that would allow it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import ConfigError
from tests.fixtures.feeds import check, price_contract

HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"


def read_price(
    tmp_path: Path, price: str, rounding: str = "", decimal: str = "."
) -> tuple[list[object], list[str]]:
    """(sale prices read, rejection messages) of one price row whose Price cell is `price`."""
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\nA;L;1;SEK;{price};\n", encoding="utf-8")
    extra = f"[rounding]\n{rounding}\n" if rounding else ""
    contract = price_contract(tmp_path, f'delimiter = ";"\ndecimal = "{decimal}"', extra)
    validated = check(path, contract, tmp_path / "scratch")
    return validated.valid["price_sale"].to_list(), validated.rejections["message"].to_list()


def test_a_whole_number_with_four_zero_decimals_is_that_whole_number(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\nA;L;10.0000;SEK;1.00;\n", encoding="utf-8")
    validated = check(path, price_contract(tmp_path, 'delimiter = ";"'), tmp_path / "scratch")

    assert validated.rejections["message"].to_list() == []
    assert validated.valid["quantity_break"].to_list() == [10]


@pytest.mark.parametrize(
    ("cell", "mode", "read"),
    [
        ("495.79831932773", "half_up", "495.80"),
        ("0.125", "half_up", "0.13"),
        ("0.125", "half_even", "0.12"),
        ("0.135", "half_even", "0.14"),
        # 2.675 is 2.67499999... as a float: only exact decimals round it up.
        ("2.675", "half_up", "2.68"),
        ("12", "half_up", "12.00"),
    ],
)
def test_a_field_rounded_by_contract_takes_long_decimals_rounded_as_declared(
    tmp_path: Path, cell: str, mode: str, read: str
) -> None:
    got, messages = read_price(tmp_path, cell, f'price_sale = {{ places = 2, mode = "{mode}" }}')

    assert messages == []
    assert got == [Decimal(read)]


def test_rounding_reads_the_files_own_dialect(tmp_path: Path) -> None:
    got, messages = read_price(
        tmp_path, "1234,56789", 'price_sale = { places = 3, mode = "half_even" }', decimal=","
    )

    assert messages == []
    assert got == [Decimal("1234.568")]


def test_text_in_a_rounded_field_is_still_not_a_number(tmp_path: Path) -> None:
    got, messages = read_price(tmp_path, "ten", 'price_sale = { places = 2, mode = "half_up" }')

    assert got == []
    assert messages == ["'ten' is not a number with at most 4 decimals, such as 1234.50"]


def test_too_many_decimals_without_rounding_says_how_to_allow_them(tmp_path: Path) -> None:
    got, messages = read_price(tmp_path, "495.79831932773")

    assert got == []
    assert messages == [
        "'495.79831932773' has more decimals than the 4 price_sale keeps: round it in the ERP, "
        'or let the feed contract round it, e.g. [rounding] price_sale = { places = 2, mode = "half_up" }'
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('part_no = { places = 2, mode = "half_up" }', "not a decimal field of price"),
        ('price_sale = { places = 5, mode = "half_up" }', "at most 4"),
        ("price_sale = { places = 2 }", "mode"),
        ('price_sale = { places = 2, mode = "up" }', "half_even"),
    ],
)
def test_a_rounding_the_field_cannot_take_is_refused_at_start(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        price_contract(tmp_path, 'delimiter = ";"', f"[rounding]\n{entry}\n")

    assert "rounding" in str(raised.value) and problem in str(raised.value)

"""Money and quantities with thousands separators: exact Decimals, never a guessed grouping."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contracts import FeedContract
from etl.entities.checks import MAX_AMOUNT
from etl.errors import ConfigError
from etl.models import LINE
from etl.read.validate import validate
from tests.fixtures.feeds import check, contract_from, price_contract, rejections

NBSP, NNBSP = "\u00a0", "\u202f"  # no-break space (Swedish Excel), narrow no-break (French)
HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"


def toml_string(text: str) -> str:
    """A TOML basic string; the invisible spaces are written as escapes, as a person would."""
    return '"' + text.replace(NBSP, "\\u00a0").replace(NNBSP, "\\u202f") + '"'


def dialect(decimal: str, thousands: str) -> str:
    return f'delimiter = ";"\ndecimal = "{decimal}"\nthousands = {toml_string(thousands)}'


def read_price(tmp_path: Path, decimal: str, thousands: str, cell: str) -> tuple[object, ...]:
    """(sale price, rejections, messages) for one price row whose price cell is `cell`."""
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\nA;L;1;SEK;{cell};\n", encoding="utf-8")
    contract = price_contract(tmp_path, dialect(decimal, thousands))
    validated = check(path, contract, tmp_path / "scratch")
    return (
        validated.valid["price_sale"].to_list(),
        rejections(validated),
        validated.rejections["message"].to_list(),
    )


@pytest.mark.parametrize(
    ("decimal", "thousands", "cell"),
    [
        (",", ".", "1.234,56"),
        (",", " ", "1 234,56"),
        (",", " ", f"1{NBSP}234,56"),  # what Swedish Excel writes for "1 234,56"
        (",", " ", f"1{NNBSP}234,56"),  # what French Excel writes
        (",", NBSP, f"1{NBSP}234,56"),
        (",", NNBSP, f"1{NNBSP}234,56"),
        (".", ",", "1,234.56"),
        (".", "'", "1'234.56"),
        (".", " ", f"1{NBSP}234.56"),
        (",", "", "1234,56"),
    ],
)
def test_grouped_amounts_parse_to_the_exact_decimal(
    tmp_path: Path, decimal: str, thousands: str, cell: str
) -> None:
    assert read_price(tmp_path, decimal, thousands, cell)[:2] == ([Decimal("1234.56")], [])


def test_a_space_dialect_takes_any_kind_of_space_between_groups(tmp_path: Path) -> None:
    cell = f"12 345{NBSP}678{NNBSP}901,25"

    assert read_price(tmp_path, ",", " ", cell)[:2] == ([Decimal("12345678901.25")], [])


@pytest.mark.parametrize(
    ("decimal", "thousands", "cell"),
    [
        (",", ".", "1.23,4"),  # a group of two
        (",", ".", "12.34.567,1"),
        (",", ".", "1234.567,1"),  # a first group of four
        (",", " ", "1 23,4"),
        (",", " ", "1  234,5"),  # two separators in a row
        (",", NBSP, "1 234,56"),  # only the no-break space was declared
        (",", NBSP, f"1{NNBSP}234,56"),
        (",", "", f"1{NBSP}234,56"),  # no grouping declared at all
        (".", ",", "1,23.4"),
        (".", "'", "1'23.4"),
        (".", ",", "1.234,56"),  # the other dialect's way round
    ],
)
def test_misplaced_groups_are_type_rejections(
    tmp_path: Path, decimal: str, thousands: str, cell: str
) -> None:
    valid, found, messages = read_price(tmp_path, decimal, thousands, cell)

    assert (valid, found) == ([], [(2, "price_sale", "Price", "type")])
    assert messages == [
        f"{cell!r} is not a number with at most 4 decimals, such as 1234{decimal}50"
    ]


@pytest.mark.parametrize("thousands", ["_", "  ", "\\u2009"])
def test_other_separators_are_refused_by_the_contract(tmp_path: Path, thousands: str) -> None:
    with pytest.raises(ConfigError) as caught:
        price_contract(tmp_path, f'delimiter = ";"\nthousands = "{thousands}"')

    assert caught.value.key == "format.thousands"


# Every (decimal, thousands) pair a contract may declare.
DIALECTS = [
    (decimal, thousands)
    for decimal in (".", ",")
    for thousands in ("", " ", NBSP, NNBSP, ".", ",", "'")
    if thousands != decimal
]
STOCK_COLUMNS = """
[columns]
"Art" = "part_no"
"Store" = "warehouse_code"
"Shelf" = "location_code"
"Qty" = "onhand_value"
"""


@cache
def stock_contract(decimal: str, thousands: str) -> FeedContract:
    """An on-hand feed (quantities may be negative) in the given dialect, loaded once."""
    fmt = dialect(decimal, thousands)
    text = f'[feed]\nentity = "onhand"\n[format]\ntype = "csv"\n{fmt}\n{STOCK_COLUMNS}'
    with tempfile.TemporaryDirectory() as folder:
        return contract_from(text, Path(folder), "stock")


def written(value: Decimal, decimal: str, thousands: str, spaces: list[str]) -> str:
    """`value` as the ERP writes it; in a " " dialect each group gap may be any kind of space."""
    grouped = format(value, ",f" if thousands else "f")
    whole, _, fraction = grouped.partition(".")
    groups = whole.split(",")
    if thousands == " ":
        whole = groups[0] + "".join(s + g for s, g in zip(spaces, groups[1:], strict=False))
    else:
        whole = thousands.join(groups)
    return whole + (decimal + fraction if fraction else "")


quantities = st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=2)


@settings(max_examples=60, deadline=None)
@given(
    pair=st.sampled_from(DIALECTS),
    values=st.lists(quantities, min_size=1, max_size=20),
    spaces=st.lists(st.sampled_from([" ", NBSP, NNBSP]), min_size=4, max_size=4),
)
def test_any_amount_written_in_any_dialect_reads_back_exactly(
    pair: tuple[str, str], values: list[Decimal], spaces: list[str]
) -> None:
    decimal, thousands = pair
    cells = [written(v, decimal, thousands, spaces) for v in values]
    contract = stock_contract(decimal, thousands)
    # The mapped text frame validate() takes: every field as text, plus the source line.
    n = len(cells)
    given_cells = {
        "part_no": [f"P{i}" for i in range(n)],
        "warehouse_code": ["W"] * n,
        "location_code": ["L"] * n,
        "onhand_value": cells,
    }
    text = pl.DataFrame(
        {f: given_cells.get(f, [None] * n) for f in contract.entity.fields()},
        schema=dict.fromkeys(contract.entity.fields(), pl.String),
    ).with_columns(pl.int_range(2, n + 2, dtype=pl.Int64).alias(LINE))

    validated = validate(text, contract)

    assert validated.rejections.is_empty(), (cells, validated.rejections.to_dicts())
    assert validated.valid["onhand_value"].to_list() == values

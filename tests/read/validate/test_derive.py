"""A field read from a column by a regular expression ([derive]).

Magento writes the currency of a tier price only inside its website, "All Websites [USD]":
the first capture group (or the whole match) is the field; a value the pattern does not
match rejects the row naming column, value and key; an empty cell stays empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.contracts import FeedContract
from etl.errors import ConfigError, SchemaMismatch
from etl.models import Validated
from tests.fixtures.feeds import check, contract_from

HEADER = "sku,tier_price_website,tier_price_customer_group,tier_price_qty,tier_price"
PRICES = """
[feed]
entity = "price"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"tier_price_customer_group" = "price_list_code"
"tier_price_qty" = "quantity_break"
"tier_price" = "price_sale"
"""
CURRENCY = """
[derive]
currency = { column = "tier_price_website", pattern = '\\[([A-Z]{3})\\]' }
"""


def prices(tmp_path: Path, extra: str = CURRENCY) -> FeedContract:
    return contract_from(PRICES + extra, tmp_path / "schemas", "prices")


def read(tmp_path: Path, websites: list[str], extra: str = CURRENCY) -> Validated:
    rows = [f'24-MB0{i},"{w}",General,1,10.00' for i, w in enumerate(websites, 1)]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return check(path, prices(tmp_path, extra), tmp_path / "scratch")


def test_the_first_capture_group_is_the_field(tmp_path: Path) -> None:
    validated = read(tmp_path, ["All Websites [USD]", "Main Website [EUR]"])

    assert validated.rejections["code"].to_list() == []
    assert validated.valid["currency"].to_list() == ["USD", "EUR"]


def test_without_a_group_the_whole_match_is_the_field(tmp_path: Path) -> None:
    extra = "[derive]\ncurrency = { column = \"tier_price_website\", pattern = '[A-Z]{3}$' }"

    assert read(tmp_path, ["Website SEK"], extra).valid["currency"].to_list() == ["SEK"]


def test_a_value_the_pattern_does_not_match_rejects_the_row_naming_column_value_and_key(
    tmp_path: Path,
) -> None:
    validated = read(tmp_path, ["All Websites [USD]", "All Websites"])

    [row] = validated.rejections.iter_rows(named=True)
    assert (row["line"], row["field"], row["source_column"]) == (
        3,
        "currency",
        "tier_price_website",
    )
    assert (row["code"], row["value"], row["key"]) == (
        "no_match",
        "All Websites",
        "24-MB02 / General / 1",
    )
    assert "'All Websites'" in row["message"]
    assert "tier_price_website" in row["message"] and "[derive.currency]" in row["message"]
    assert validated.valid["part_no"].to_list() == ["24-MB01"]


def test_an_empty_cell_is_empty_not_a_mismatch(tmp_path: Path) -> None:
    extra = CURRENCY + '[defaults]\ncurrency = "SEK"\n'

    validated = read(tmp_path, ["", "All Websites [USD]"], extra)

    assert validated.rejections["code"].to_list() == []
    assert validated.valid["currency"].to_list() == ["SEK", "USD"]


def test_a_derived_field_can_be_mapped_too(tmp_path: Path) -> None:
    extra = CURRENCY + '[values.currency]\nmap = { "USD" = "SEK" }\n'

    validated = read(tmp_path, ["All Websites [USD]", "x [EUR]"], extra)

    assert validated.valid["currency"].to_list() == ["SEK", "EUR"]


def test_a_file_without_the_column_is_rejected_whole(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("sku,tier_price_customer_group,tier_price_qty,tier_price\nA,G,1,1\n")

    with pytest.raises(SchemaMismatch, match=r"missing column.*'tier_price_website'"):
        check(path, prices(tmp_path), tmp_path / "scratch")


@pytest.mark.parametrize(
    ("derive", "key", "problem"),
    [
        (
            "colour = { column = \"sku\", pattern = '-(\\w+)$' }",
            "derive.colour",
            "not a field of price",
        ),
        (
            "part_no = { column = \"x\", pattern = 'a' }",
            "derive.part_no",
            "also mapped from column 'sku'",
        ),
        (
            "currency = { column = \"x\", pattern = '(' }",
            "derive.currency.pattern",
            "not a regular expression",
        ),
        ('currency = { column = "x" }', "derive.currency.pattern", "Field required"),
    ],
)
def test_a_mistake_in_derive_stops_the_start_naming_the_key(
    tmp_path: Path, derive: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        prices(tmp_path, f"[derive]\n{derive}\n")

    assert caught.value.key == key
    assert problem in caught.value.problem


def test_a_derived_required_field_counts_as_mapped(tmp_path: Path) -> None:
    assert "currency" in prices(tmp_path).carried_fields()


XML_PRICES = """
[feed]
entity = "price"
[format]
type = "xml"
record = "Prices/Price"
[columns]
"@sku" = "part_no"
"@list" = "price_list_code"
"@qty" = "quantity_break"
"Amount" = "price_sale"
[derive]
currency = { column = "%s", pattern = '^[A-Z]{3}$' }
"""


def test_an_xml_feed_derives_from_a_path_it_does_not_map(tmp_path: Path) -> None:
    contract = contract_from(XML_PRICES % "Amount/@currency", tmp_path / "schemas", "prices")
    path = tmp_path / "prices.xml"
    path.write_text(
        '<Prices>\n<Price sku="A1" list="STD" qty="1"><Amount currency="SEK">10</Amount></Price>\n'
        '<Price sku="A2" list="STD" qty="1"><Amount currency="sek">12</Amount></Price>\n</Prices>',
        encoding="utf-8",
    )

    validated = check(path, contract, tmp_path / "scratch")

    assert validated.valid["currency"].to_list() == ["SEK"]
    assert validated.rejections.select("line", "field", "code", "source_column").rows() == [
        (3, "currency", "no_match", "Amount/@currency")
    ]


def test_an_xml_derive_path_is_checked_like_a_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        contract_from(XML_PRICES % "x:Amount/@currency", tmp_path / "schemas", "prices")

    assert caught.value.key == "derive.currency.column"
    assert "namespace prefix 'x'" in caught.value.problem


@pytest.mark.parametrize(
    "pattern",
    [
        "\\\\[([A-Z]{3})\\\\]|\\\\(([A-Z]{3})\\\\)",  # alternation, one group per branch
        "(?P<site>\\\\w+) \\\\[(?P<code>[A-Z]{3})\\\\]",  # named groups: which one is the field?
    ],
)
def test_a_pattern_with_more_than_one_group_stops_the_start(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(ConfigError) as caught:
        prices(
            tmp_path,
            f'[derive]\ncurrency = {{ column = "tier_price_website", pattern = "{pattern}" }}\n',
        )

    assert caught.value.key == "derive.currency.pattern"
    assert "use (?:...) for the others" in caught.value.problem


def test_a_pattern_polars_cannot_run_stops_the_start(tmp_path: Path) -> None:
    extra = "[derive]\ncurrency = { column = \"tier_price_website\", pattern = '(?<=\\[)[A-Z]{3}' }"

    with pytest.raises(ConfigError) as caught:
        prices(tmp_path, extra)

    assert caught.value.key == "derive.currency.pattern"
    assert "look-around" in caught.value.problem


REPEATED = """
[feed]
entity = "price"
[format]
type = "xml"
record = "Catalogue/Product"
repeat = "Prices/Price"
[columns]
"@no" = "part_no"
"Prices/Price" = "price_sale"
[defaults]
quantity_break = "1"
[derive]
currency = { column = "Prices/Price/@label", pattern = '\\[([A-Z]{3})\\]$' }
price_list_code = { column = "%s", pattern = '^(\\w+)' }
"""


def test_a_key_derived_from_below_the_repeat_element_gives_each_repeat_a_key(
    tmp_path: Path,
) -> None:
    contract = contract_from(REPEATED % "Prices/Price/@label", tmp_path / "schemas", "prices")
    path = tmp_path / "prices.xml"
    path.write_text(
        '<Catalogue><Product no="A1"><Prices><Price label="Standard [SEK]">79.20</Price>'
        '<Price label="Europe [EUR]">7.20</Price></Prices></Product></Catalogue>',
        encoding="utf-8",
    )

    valid = check(path, contract, tmp_path / "scratch").valid

    assert valid.select("price_list_code", "currency").rows() == [
        ("Standard", "SEK"),
        ("Europe", "EUR"),
    ]


def test_a_derive_path_may_not_choose_the_repeat_element_by_a_predicate(tmp_path: Path) -> None:
    chosen = "Prices/Price[@list='STD']/@label"

    with pytest.raises(ConfigError) as caught:
        contract_from(REPEATED % chosen, tmp_path / "schemas", "prices")

    assert caught.value.key == "derive.price_list_code.column"
    assert "each occurrence of the repeat element is a row" in caught.value.problem


def test_a_people_feeds_derived_cell_is_masked_in_the_report(tmp_path: Path) -> None:
    """A free-text cell of a customer may hold anything about the person: never shown whole."""
    text = """
[feed]
entity = "customer"
[format]
type = "csv"
delimiter = ";"
[columns]
"ID" = "code"
"First" = "first_name"
"Last" = "last_name"
"Mail" = "email"
[derive]
phone = { column = "Kontakt", pattern = 'Tel: (\\+?[0-9 ]+)$' }
"""
    contract = contract_from(text, tmp_path / "schemas", "customers")
    path = tmp_path / "customers.csv"
    cell = "Mail only eva.lind@private.se 19800303-1234"
    path.write_text(f"ID;First;Last;Mail;Kontakt\nC3;Eva;Lind;eva@example.com;{cell}\n")

    [row] = check(path, contract, tmp_path / "scratch").rejections.iter_rows(named=True)

    assert row["code"] == "no_match"
    assert row["value"] == "*" * (len(cell) - 4) + "1234"
    assert "eva.lind" not in row["message"] and "19800303" not in row["message"]

"""One ERP column feeding several canonical fields: `"sku" = ["part_no", "manufacturer_part_no"]`.

Magento has no separate manufacturer's number: its SKU is both. A rejected cell still
names the ERP column it came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.contracts import FeedContract
from etl.errors import ConfigError
from tests.fixtures.feeds import check, contract_from, rejections

PRODUCTS = """
[feed]
entity = "product"
[format]
type = "csv"
[columns]
"sku" = ["part_no", "manufacturer_part_no"]
"name" = "name"
[defaults]
manufacturer_code = "LUMA"
"""


def products(tmp_path: Path, text: str = PRODUCTS) -> FeedContract:
    return contract_from(text, tmp_path / "schemas", "products")


def test_one_column_fills_every_field_it_lists(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("sku,name\n24-MB01,Joust Duffle Bag\nMH01-XS-Black,Chaz Hoodie\n")

    validated = check(path, products(tmp_path), tmp_path / "scratch")

    assert validated.rejections["code"].to_list() == []
    assert validated.valid.select("part_no", "manufacturer_part_no").rows() == [
        ("24-MB01", "24-MB01"),
        ("MH01-XS-Black", "MH01-XS-Black"),
    ]


def test_a_rejected_cell_names_the_erp_column_for_each_field(tmp_path: Path) -> None:
    text = PRODUCTS + "[checks.fields.manufacturer_part_no]\nmax_length = 8\n"
    path = tmp_path / "products.csv"
    path.write_text("sku,name\n24-MB01,Joust Duffle Bag\nMH01-XS-Black,Chaz Hoodie\n")

    validated = check(path, products(tmp_path, text), tmp_path / "scratch")

    assert rejections(validated) == [(3, "manufacturer_part_no", "sku", "length")]
    assert products(tmp_path, text).field_sources()["manufacturer_part_no"] == "sku"


def test_every_field_of_the_list_is_carried(tmp_path: Path) -> None:
    assert {"part_no", "manufacturer_part_no"} <= products(tmp_path).carried_fields()


@pytest.mark.parametrize(
    ("columns", "key", "problem"),
    [
        (
            '"sku" = ["part_no", "part_no"]\n"name" = "name"',
            "columns",
            "fields mapped twice: part_no",
        ),
        (
            '"sku" = ["part_no", "manufacturer_part_no"]\n"mpn" = "manufacturer_part_no"\n"name" = "name"',
            "columns",
            "fields mapped twice: manufacturer_part_no",
        ),
        ('"sku" = []\n"name" = "name"', "columns.sku", "at least one field"),
        (
            '"sku" = ["part_no", "colour"]\n"name" = "name"',
            "columns.sku",
            "'colour' is not a field",
        ),
    ],
)
def test_a_mistake_in_a_list_stops_the_start_naming_the_key(
    tmp_path: Path, columns: str, key: str, problem: str
) -> None:
    text = PRODUCTS.replace('"sku" = ["part_no", "manufacturer_part_no"]\n"name" = "name"', columns)

    with pytest.raises(ConfigError) as caught:
        products(tmp_path, text)

    assert caught.value.key == key
    assert problem in caught.value.problem


def test_an_xml_path_can_feed_two_fields(tmp_path: Path) -> None:
    text = """
[feed]
entity = "product"
[format]
type = "xml"
record = "Products/Product"
[columns]
"@sku" = ["part_no", "manufacturer_part_no"]
"Name" = "name"
[defaults]
manufacturer_code = "LUMA"
"""
    path = tmp_path / "products.xml"
    path.write_text('<Products><Product sku="24-MB01"><Name>Bag</Name></Product></Products>')

    validated = check(path, products(tmp_path, text), tmp_path / "scratch")

    assert validated.valid.select("part_no", "manufacturer_part_no").rows() == [
        ("24-MB01", "24-MB01")
    ]

"""Feeds that share a file (`source.from_feed`): one dialect, each its own date fields' formats.

The derived feed reads the very file its parent picks up, so every key of [format] that says
how the file is read must be the same in both; `[format.field_formats]` is about the feed's
own fields (a product's dates, a stock row's delivery date) and may differ.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.errors import ConfigError
from etl.to_norce.feed import parse_and_validate

UTC = dt.UTC

PRODUCTS = """
[feed]
entity = "product"

[source]
folder = "products"

[format]
type = "csv"
delimiter = ";"
{products_format}

[format.field_formats]
start_date = "%d.%m.%Y %H:%M"

[columns]
"Art" = "part_no"
"Brand" = "manufacturer_code"
"Name" = "name"
"Launch" = "start_date"
"""

STOCK = """
[feed]
entity = "onhand"

[source]
from_feed = "products"

[format]
type = "csv"
delimiter = ";"
{stock_format}

[format.field_formats]
next_delivery_date = "%Y%m%d"

[columns]
"Art" = "part_no"
"Warehouse" = "warehouse_code"
"Location" = "location_code"
"Qty" = "onhand_value"
"Next" = "next_delivery_date"
"""

FILE = (
    "Art;Brand;Name;Launch;Warehouse;Location;Qty;Next\n"
    "P1;ACME;Glove;01.06.2026 08:00;MAIN;A1;5;20260615\n"
)


def write(folder: Path, products_format: str = "", stock_format: str = "") -> Settings:
    folder.mkdir(exist_ok=True)
    text = PRODUCTS.format(products_format=products_format)
    (folder / "products.toml").write_text(text, encoding="utf-8")
    text = STOCK.format(stock_format=stock_format)
    (folder / "stock.toml").write_text(text, encoding="utf-8")
    return Settings(schemas_dir=folder)


def test_a_derived_feed_reads_its_own_dates_in_its_own_format(tmp_path: Path) -> None:
    contracts = load_contracts(write(tmp_path / "schemas"))
    data = tmp_path / "export.csv"
    data.write_text(FILE, encoding="utf-8")

    products = parse_and_validate(data, contracts["products"], tmp_path)
    stock = parse_and_validate(data, contracts["stock"], tmp_path)

    assert products.valid["start_date"].to_list() == [dt.datetime(2026, 6, 1, 8, tzinfo=UTC)]
    assert stock.valid["next_delivery_date"].to_list() == [dt.date(2026, 6, 15)]
    assert products.rejections.is_empty() and stock.rejections.is_empty()


DIFFERENCES = {
    "delimiter": (
        'delimiter = ","',
        "format.delimiter",
        '"," here, ";" in feed products (it reads that feed\'s files)',
    ),
    "encoding": (
        'encoding = "cp1252"',
        "format.encoding",
        '"cp1252" here, "utf-8" in feed products',
    ),
    "date format": (
        'date_format = "%d.%m.%Y"',
        "format.date_format",
        '"%d.%m.%Y" here, "%Y-%m-%d" in feed products',
    ),
    "trailer": (
        "trailer = { lines = 1 }",
        "format.trailer",
        "set here, not set in feed products",
    ),
}


@pytest.mark.parametrize(("line", "key", "words"), DIFFERENCES.values(), ids=DIFFERENCES.keys())
def test_any_other_difference_names_its_key(
    tmp_path: Path, line: str, key: str, words: str
) -> None:
    # A delimiter line already in the stock contract would be a duplicate key: replace it.
    settings = write(tmp_path, stock_format=line)
    path = tmp_path / "stock.toml"
    text = path.read_text(encoding="utf-8")
    if line.startswith("delimiter"):
        path.write_text(text.replace('delimiter = ";"\n', "", 1), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_contracts(settings)

    assert (caught.value.source, caught.value.key) == (str(path), key)
    assert words in caught.value.problem


def test_a_nested_difference_names_the_nested_key(tmp_path: Path) -> None:
    settings = write(
        tmp_path, products_format="trailer = { lines = 1 }", stock_format="trailer = { lines = 2 }"
    )

    with pytest.raises(ConfigError) as caught:
        load_contracts(settings)

    assert caught.value.key == "format.trailer.lines"
    assert caught.value.problem == "2 here, 1 in feed products (it reads that feed's files)"


def test_a_one_format_list_is_the_same_as_that_format(tmp_path: Path) -> None:
    contracts = load_contracts(write(tmp_path, stock_format='date_format = ["%Y-%m-%d"]'))

    assert contracts["stock"].source.from_feed == "products"


XML_PRODUCTS = """
[feed]
entity = "product"
[source]
folder = "products"
[format]
type = "xml"
record = "a:Export/a:Item"
namespaces = {{ a = "urn:erp:items" }}
[columns]
"a:Art" = "part_no"
"a:Brand" = "manufacturer_code"
"a:Name" = "name"
"""

XML_STOCK = """
[feed]
entity = "onhand"
[source]
from_feed = "products"
[format]
type = "xml"
record = "{record}"
namespaces = {namespaces}
[columns]
"{prefix}:Art" = "part_no"
"{prefix}:Warehouse" = "warehouse_code"
"{prefix}:Location" = "location_code"
"{prefix}:Qty" = "onhand_value"
"""

XML_FILE = (
    '<Export xmlns="urn:erp:items" xmlns:s="urn:erp:stock"><Item><Art>P1</Art>'
    "<Brand>ACME</Brand><Name>Glove</Name><Warehouse>MAIN</Warehouse>"
    "<Location>A1</Location><Qty>5</Qty><s:Note>x</s:Note></Item></Export>"
)


def write_xml(folder: Path, record: str, namespaces: str, prefix: str) -> Settings:
    folder.mkdir(exist_ok=True)
    (folder / "products.toml").write_text(XML_PRODUCTS.format(), encoding="utf-8")
    stock = XML_STOCK.format(record=record, namespaces=namespaces, prefix=prefix)
    (folder / "stock.toml").write_text(stock, encoding="utf-8")
    return Settings(schemas_dir=folder)


def test_prefixes_are_the_derived_feeds_own_only_the_elements_they_name_count(
    tmp_path: Path,
) -> None:
    # Its own prefix for the same namespace, and one more the parent has no use for.
    namespaces = '{ i = "urn:erp:items", s = "urn:erp:stock" }'
    contracts = load_contracts(write_xml(tmp_path / "schemas", "i:Export/i:Item", namespaces, "i"))
    data = tmp_path / "export.xml"
    data.write_text(XML_FILE, encoding="utf-8")

    stock = parse_and_validate(data, contracts["stock"], tmp_path)

    assert stock.valid["part_no"].to_list() == ["P1"]


def test_the_same_record_text_in_another_namespace_is_refused(tmp_path: Path) -> None:
    namespaces = '{ a = "urn:erp:stock" }'
    settings = write_xml(tmp_path, "a:Export/a:Item", namespaces, "a")

    with pytest.raises(ConfigError) as caught:
        load_contracts(settings)

    assert caught.value.key == "format.record"
    assert caught.value.problem == (
        '"{urn:erp:stock}Export/{urn:erp:stock}Item" here, '
        '"{urn:erp:items}Export/{urn:erp:items}Item" in feed products '
        "(it reads that feed's files)"
    )

"""XML with a repeating element inside each record: one row per occurrence (`format.repeat`)."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contract_files import load_contract
from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import ConfigError
from etl.models import ACTIVE, LINE, STATE
from etl.read.formats import read_file
from etl.read.formats.xml import read_xml
from etl.to_norce.masterdata.diff import diff
from tests.fixtures.feeds import FIXTURES, check, contract_from, rejections

PRICES = """
[feed]
entity = "price"
[format]
type = "xml"
decimal = ","
record = "Catalogue/Product"
{extra}
[columns]
"@no" = "part_no"
"Prices/Price/@list" = "price_list_code"
"Prices/Price/@currency" = "currency"
"Prices/Price" = "price_sale"
"Prices/@rrp" = "price_recommended"
"Cost" = "cost_purchase"
[defaults]
quantity_break = "1"
"""

PRODUCTS = """<?xml version="1.0" encoding="UTF-8"?>
<Catalogue>
  <Product no="A1">
    <Cost>5,00</Cost>
    <Prices rrp="12,00">
      <Price list="STD" currency="SEK">10,00</Price>
      <Price list="B2B" currency="SEK">9,00</Price>
    </Prices>
  </Product>
  <Product no="A2">
    <Prices>
      <Price list="STD" currency="EUR">1,50</Price>
    </Prices>
    <Cost>0,75</Cost>
  </Product>
  <Product no="A3">
    <Cost>1,00</Cost>
    <Prices/>
  </Product>
</Catalogue>
"""


def prices(folder: Path, extra: str = "") -> FeedContract:
    """The price contract above, repeating `Prices/Price`, with more [format] lines."""
    return contract_from(PRICES.format(extra=f'repeat = "Prices/Price"\n{extra}'), folder, "prices")


def write(folder: Path, text: str, name: str = "catalogue.xml") -> Path:
    """`text` as a UTF-8 file in `folder`."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def parsed_rows(path: Path, contract: FeedContract, scratch: Path) -> list[tuple[object, ...]]:
    """The parsed file's rows, every mapped path and then the line."""
    parsed = read_file(path, contract, scratch)
    return parsed.frame.select(*parsed.columns, LINE).rows()


def test_each_price_of_a_product_is_one_row_with_the_products_fields(
    tmp_path: Path, scratch: Path
) -> None:
    path = write(tmp_path, PRODUCTS)

    rows = parsed_rows(path, prices(tmp_path), scratch)

    # @no, list, currency, price, Prices/@rrp (the container: the record's), Cost, line
    assert rows == [
        ("A1", "STD", "SEK", "10,00", "12,00", "5,00", 6),
        ("A1", "B2B", "SEK", "9,00", "12,00", "5,00", 7),
        ("A2", "STD", "EUR", "1,50", None, "0,75", 12),
        # No price at all: one row at the product's line, the price fields empty.
        ("A3", None, None, None, None, "1,00", 16),
    ]


def test_a_record_without_repeats_can_give_no_row(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path, PRODUCTS)

    rows = parsed_rows(path, prices(tmp_path, 'repeat_empty = "skip"'), scratch)

    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("A1", "STD", 6),
        ("A1", "B2B", 7),
        ("A2", "STD", 12),
    ]


def test_each_row_points_at_the_line_of_its_own_price(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path, PRODUCTS)
    lines = PRODUCTS.splitlines()

    parsed = read_file(path, prices(tmp_path), scratch)

    for no, listed, line in parsed.frame.select("@no", "Prices/Price/@list", LINE).rows():
        expected = f'<Price list="{listed}"' if listed else f'<Product no="{no}">'
        assert expected in lines[line - 1]


def test_record_fields_after_and_between_the_repeats_fill_every_row(
    tmp_path: Path, scratch: Path
) -> None:
    text = (
        "<Catalogue>\n"
        '<Product><Prices><Price list="P1"/><Note>first</Note><Price list="P2"/>'
        '<Note>second</Note><Price list="P3"/></Prices>\n'
        "<Name>late</Name><Name>later</Name>\n"
        '<Prices><Price list="P4"/></Prices></Product>\n'
        '<Product no="X"><Price list="not below Prices"/></Product>\n'
        "</Catalogue>"
    )
    path = write(tmp_path, text)
    fmt = FormatSpec(type="xml", record="Catalogue/Product", repeat="Prices/Price")

    parsed = read_xml(path, fmt, ["Prices/Price/@list", "Name", "Prices/Note", "@no"])

    # Rows are completed when the record closes: <Name> after the block reaches all of
    # them, the first one wins. The repeat is a tree position: every <Prices> block
    # counts, and a <Price> elsewhere in the record is no occurrence.
    late = ("late", "first", None)
    assert parsed.frame.drop(LINE).rows() == [
        ("P1", *late),
        ("P2", *late),
        ("P3", *late),
        ("P4", *late),
        (None, None, None, "X"),
    ]
    assert parsed.frame[LINE].to_list() == [2, 2, 2, 4, 5]


def test_fields_inside_an_occurrence_are_read_from_that_occurrence_only(
    tmp_path: Path, scratch: Path
) -> None:
    text = (
        "<Stock><Item sku='1'>\n"
        "<Warehouse code='MAIN'>\n"
        "  <OnHand>4<Unit>st</Unit>ignored tail</OnHand><OnHand>5</OnHand>\n"
        "</Warehouse>\n"
        "<Warehouse><Bin><Code>B2</Code></Bin></Warehouse>\n"
        "<Warehouse code='EMPTY'/>\n"
        "</Item></Stock>"
    )
    path = write(tmp_path, text)
    fmt = FormatSpec(type="xml", record="Stock/Item", repeat="Warehouse")
    fields = ["@sku", "Warehouse/@code", "Warehouse/OnHand", "Warehouse/OnHand/Unit"]
    fields += ["Warehouse/Bin/Code", "Warehouse"]

    parsed = read_xml(path, fmt, fields)

    # Text before the first child, first element wins, and nothing leaks to the next one.
    assert parsed.frame.rows() == [
        ("1", "MAIN", "4", "st", None, None, 2),
        ("1", None, None, None, "B2", None, 5),
        ("1", "EMPTY", None, None, None, None, 6),
    ]
    # The repeat element's own text is blank, cleaned to null; but the path did occur.
    assert parsed.absent == ()


def test_repeated_paths_that_never_occur_are_absent(tmp_path: Path, scratch: Path) -> None:
    path = write(
        tmp_path,
        '<Catalogue><Product no="1"><Prices/></Product><Product no="2"/></Catalogue>',
    )

    parsed = read_file(path, prices(tmp_path), scratch)

    assert parsed.frame.height == 2
    assert parsed.absent == (
        "Prices/Price/@list",
        "Prices/Price/@currency",
        "Prices/Price",
        "Prices/@rrp",
        "Cost",
    )


NAMESPACED = """
[feed]
entity = "price"
[format]
type = "xml"
record = "c:Catalogue/c:Product"
repeat = "p:Prices/p:Price"
[format.namespaces]
c = "urn:erp:catalogue"
p = "urn:erp:pricing"
[columns]
"@no" = "part_no"
"p:Prices/p:Price/@p:list" = "price_list_code"
"p:Prices/p:Price/@currency" = "currency"
"p:Prices/p:Price" = "price_sale"
"c:Cost" = "cost_purchase"
[defaults]
quantity_break = "1"
"""


def test_a_default_namespace_and_a_prefixed_repeat(tmp_path: Path, scratch: Path) -> None:
    # The catalogue is the default namespace; the prices use their own prefix, and the
    # contract may name both with prefixes of its own choosing.
    text = """<Catalogue xmlns="urn:erp:catalogue" xmlns:pr="urn:erp:pricing">
  <Product no="A1">
    <pr:Prices>
      <pr:Price pr:list="STD" currency="SEK">10.00</pr:Price>
      <Price list="OTHER" currency="SEK">1.00</Price>
      <pr:Price pr:list="B2B" currency="SEK">9.00</pr:Price>
    </pr:Prices>
    <Cost>5.00</Cost>
  </Product>
</Catalogue>
"""
    contract = contract_from(NAMESPACED, tmp_path)
    path = write(tmp_path, text)

    validated = check(path, contract, scratch)

    # The <Price> of the catalogue namespace is another element, not an occurrence.
    assert validated.valid.select(
        LINE, "price_list_code", "price_sale", "cost_purchase"
    ).rows() == [
        (4, "STD", Decimal("10"), Decimal("5")),
        (6, "B2B", Decimal("9"), Decimal("5")),
    ]


def test_the_dialect_fixture_validates_with_lines_of_each_price(scratch: Path) -> None:
    folder = FIXTURES / "dialects"
    contract = load_contract(folder / "nested_prices.toml", Settings())

    validated = check(folder / "nested_prices.xml", contract, scratch)

    assert validated.valid.select(
        LINE, "part_no", "price_list_code", "quantity_break", "currency", "price_sale"
    ).rows() == [
        (7, "100123", "STD-SEK", 1, "SEK", Decimal("79.2")),
        (8, "100123", "B2B-SEK", 10, "SEK", Decimal("71.5")),
        (9, "100123", "STD-EUR", 1, "EUR", Decimal("6.95")),
        (18, "100124", "STD-SEK", 1, "SEK", Decimal("82.4")),
        (24, "100200", "STD-SEK", 1, "SEK", Decimal("249")),
    ]
    # <Cost> after the block and the RRP on <Prices> reach every price of the product.
    assert validated.valid["cost_purchase"].to_list()[:3] == [Decimal("31.5")] * 3
    assert validated.valid["price_recommended"].to_list()[:3] == [Decimal("99")] * 3
    assert rejections(validated) == [
        (25, "price_sale", "Prices/Price", "range"),
        (26, "price_list_code", "Prices/Price/@list", "required"),
        (29, "currency", "Prices/Price/@currency", "required"),
        (29, "price_list_code", "Prices/Price/@list", "required"),
        (29, "price_sale", "Prices/Price", "required"),
    ]


@pytest.mark.parametrize(("mode", "removed"), [("row", []), ("skip", ["A3"])])
def test_a_product_whose_prices_vanished_is_kept_or_removed_as_the_contract_says(
    tmp_path: Path, scratch: Path, mode: str, removed: list[str]
) -> None:
    contract = prices(tmp_path, f'repeat_empty = "{mode}"')
    validated = check(write(tmp_path, PRODUCTS), contract, scratch)
    old = pl.DataFrame(
        {
            "part_no": ["A1", "A1", "A2", "A3"],
            "price_list_code": ["STD", "B2B", "STD", "STD"],
            "quantity_break": pl.Series([1, 1, 1, 1], dtype=pl.Int32),
            "price_sale": pl.Series(["10", "9", "1.5", "2"]).cast(pl.Decimal(18, 4)),
            STATE: [ACTIVE] * 4,
        }
    )
    new = validated.valid.select(*old.columns[:-1], LINE)

    delta = diff(old, new, validated.rejected_keys, contract.key_fields, full_export=True)

    # "row": A3's empty row is rejected and its readable key spares its old prices.
    assert delta.removals["part_no"].to_list() == removed


def test_a_record_with_twenty_thousand_prices(tmp_path: Path) -> None:
    count = 20_000
    body = "".join(f'<Price list="L{i}">{i}</Price>\n' for i in range(count))
    path = write(
        tmp_path,
        f'<Catalogue>\n<Product no="1"><Prices>\n{body}</Prices><Name>N</Name></Product>\n'
        '<Product no="2"/>\n</Catalogue>\n',
    )
    fmt = FormatSpec(type="xml", record="Catalogue/Product", repeat="Prices/Price")

    frame = read_xml(path, fmt, ["@no", "Prices/Price/@list", "Prices/Price", "Name"]).frame

    assert frame.height == count + 1
    assert frame.row(count - 1) == ("1", f"L{count - 1}", str(count - 1), "N", count + 2)
    assert frame.row(count) == ("2", None, None, None, count + 4)


# A generated record: its number, where <Name> stands (before or after the prices, or
# none), and its prices as (list attribute, text, quantity child).
Price = tuple[str | None, str, str | None]


@dataclass(frozen=True)
class Record:
    """One generated <Product>."""

    no: str | None
    name: str | None
    name_after: bool
    prices: list[Price]


_TEXT = st.text(st.sampled_from("aZ09-_.,&<>\"'åÖ€"), max_size=6)
_RECORDS = st.lists(
    st.builds(
        Record,
        no=st.none() | _TEXT,
        name=st.none() | _TEXT,
        name_after=st.booleans(),
        prices=st.lists(st.tuples(st.none() | _TEXT, _TEXT, st.none() | _TEXT), max_size=5),
    ),
    max_size=8,
)
_FIELDS = ["@no", "Name", "Prices/Price/@list", "Prices/Price", "Prices/Price/Qty"]


def render(records: list[Record], empty_row: bool) -> tuple[str, list[tuple[object, ...]]]:
    """The XML for `records`, one element a line, and the rows the reader should give."""
    lines = ["<?xml version='1.0'?>", "<Catalogue>", "<Note>not a record</Note>"]
    rows: list[tuple[object, ...]] = []

    def cell(text: str | None) -> str | None:
        return text or None  # empty text and missing are both null after cleaning

    for record in records:
        no = f" no={quoteattr(record.no)}" if record.no is not None else ""
        lines.append(f"<Product{no}>")
        record_line = len(lines)
        name = [] if record.name is None else [f"<Name>{escape(record.name)}</Name>"]
        lines += [] if record.name_after else name
        lines.append("<Prices>")
        own = (cell(record.no), cell(record.name))
        for listed, text, qty in record.prices:
            attribute = f" list={quoteattr(listed)}" if listed is not None else ""
            child = f"<Qty>{escape(qty)}</Qty>" if qty is not None else ""
            lines.append(f"<Price{attribute}>{escape(text)}{child}</Price>")
            rows.append((*own, cell(listed), cell(text), cell(qty), len(lines)))
        if not record.prices and empty_row:
            rows.append((*own, None, None, None, record_line))
        lines.append("</Prices>")
        lines += name if record.name_after else []
        lines.append("</Product>")
    lines.append("</Catalogue>")
    return "\n".join(lines), rows


@settings(max_examples=150, deadline=None)
@given(records=_RECORDS, empty_row=st.booleans())
def test_generated_records_flatten_to_the_expected_rows(
    records: list[Record], empty_row: bool
) -> None:
    text, expected = render(records, empty_row)
    fmt = FormatSpec(
        type="xml",
        record="Catalogue/Product",
        repeat="Prices/Price",
        repeat_empty="row" if empty_row else "skip",
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), text)
        parsed = read_xml(path, fmt, _FIELDS)

    assert parsed.frame.select(*_FIELDS, LINE).rows() == expected
    # A path occurred when some record had it, even empty, even in a record that gave no row.
    occurred = {
        "@no": any(r.no is not None for r in records),
        "Name": any(r.name is not None for r in records),
        "Prices/Price/@list": any(p[0] is not None for r in records for p in r.prices),
        "Prices/Price": any(r.prices for r in records),
        "Prices/Price/Qty": any(p[2] is not None for r in records for p in r.prices),
    }
    assert parsed.absent == tuple(f for f in _FIELDS if not occurred[f])


CONTRACT_ERRORS = {
    "attribute in repeat": ('repeat = "Prices/@list"', "format.repeat", "not a usable path"),
    "leading slash": ('repeat = "/Prices/Price"', "format.repeat", "not a usable path"),
    "undeclared prefix": ('repeat = "p:Prices/Price"', "format.repeat", "prefix 'p'"),
    "no column below it": ('repeat = "Discounts/Discount"', "format.repeat", "no column"),
    "empty rule without repeat": ('repeat_empty = "skip"', "format.repeat_empty", "needs"),
    "unknown empty rule": (
        'repeat = "Prices/Price"\nrepeat_empty = "drop"',
        "format.repeat_empty",
        "'row' or 'skip'",
    ),
}


@pytest.mark.parametrize(
    ("lines", "key", "problem"), CONTRACT_ERRORS.values(), ids=CONTRACT_ERRORS.keys()
)
def test_a_bad_repeat_is_refused_naming_the_key(
    tmp_path: Path, lines: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        contract_from(PRICES.format(extra=lines), tmp_path)

    assert caught.value.key == key
    assert problem in caught.value.problem


def test_repeat_is_refused_outside_xml(tmp_path: Path) -> None:
    text = '[feed]\nentity = "price"\n[format]\ntype = "csv"\nrepeat = "Prices/Price"\n'
    with pytest.raises(ConfigError) as caught:
        contract_from(text + '[columns]\n"A" = "part_no"\n', tmp_path)

    assert caught.value.key == "format.repeat"


def test_a_repeated_element_in_another_namespace_is_refused(tmp_path: Path) -> None:
    # The contract's prefix names the prices, but the currency path forgot it: read once per
    # product from an element that does not exist, it would be silently empty.
    text = NAMESPACED.replace('"p:Prices/p:Price/@currency"', '"Prices/Price/@currency"')

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path)

    assert caught.value.key == "columns.Prices/Price/@currency"
    assert "another namespace" in caught.value.problem


def test_the_key_must_vary_within_a_record(tmp_path: Path) -> None:
    # Only the price is below the repeat: every row of a product would share one key.
    text = PRICES.format(extra='repeat = "Prices/Price"').replace(
        '"Prices/Price/@list" = "price_list_code"', '"@list" = "price_list_code"'
    )

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path)

    assert caught.value.key == "format.repeat"
    assert "no key field" in caught.value.problem
    assert "part_no, price_list_code, quantity_break" in caught.value.problem


def test_dates_and_numbers_survive_the_copy_onto_each_row(tmp_path: Path, scratch: Path) -> None:
    # The record's cells are copied, not re-read: typed values are identical on every row.
    text = """<R>
<I sku="1"><Due>2026-12-01</Due><S w="A"><Q>1</Q></S><S w="B"><Q>2</Q></S></I>
</R>"""
    contract = contract_from(
        '[feed]\nentity = "onhand"\n[format]\ntype = "xml"\nrecord = "R/I"\nrepeat = "S"\n'
        '[columns]\n"@sku" = "part_no"\n"S/@w" = "warehouse_code"\n"S/Q" = "onhand_value"\n'
        '"Due" = "next_delivery_date"\n[defaults]\nlocation_code = "MAIN"\n',
        tmp_path,
    )

    validated = check(write(tmp_path, text), contract, scratch)

    assert validated.valid.select(
        "warehouse_code", "onhand_value", "next_delivery_date"
    ).rows() == [
        ("A", Decimal(1), dt.date(2026, 12, 1)),
        ("B", Decimal(2), dt.date(2026, 12, 1)),
    ]

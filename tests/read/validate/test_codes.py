"""validate: every error code with its line, field, ERP column and a plain message."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from etl.models import LINE, Validated
from tests.fixtures.feeds import PRODUCTS_HEADER, check, price_contract, shipped


def product(
    part_no: str = "P1", name: str = "Handske", ean: str = "", vat: str = "25", weight: str = "0,5"
) -> str:
    return f"{part_no};ACME;Acme AB;;;{name};;GLOVES;{ean};{vat};{weight}"


def run_products(tmp_path: Path, rows: list[str]) -> Validated:
    path = tmp_path / "products.csv"
    path.write_bytes(("\r\n".join([PRODUCTS_HEADER, *rows]) + "\r\n").encode("cp1252"))
    return check(path, shipped("products"), tmp_path / "scratch")


def table(validated: Validated) -> list[tuple[object, ...]]:
    return validated.rejections.rows()


def test_each_error_code_with_line_field_column_and_message(tmp_path: Path) -> None:
    validated = run_products(
        tmp_path,
        [
            product("OK-1"),  # 2
            product("ART 500"),  # 3
            product("P3", name=""),  # 4
            product("P4", weight="tung"),  # 5
            product("P5", vat="101"),  # 6
            product("P6", name="x" * 256),  # 7
            product("P7", ean="7350000000017"),  # 8
            product("DUP", name="Första"),  # 9
            product("DUP", name="Andra"),  # 10
            product("OK-2", ean="7350000000016"),  # 11
        ],
    )

    assert table(validated) == [
        (3, "ART 500", "part_no", "Artikelnr", "pattern",
         "'ART 500' is not allowed for Article number, the SKU (Norce PartNo): "
         "use letters, digits and . _ / - only, no spaces, at most 50 characters; if the "
         "ERP's codes hold spaces or other characters Norce takes, let the feed contract take "
         'them: [checks.fields.part_no] code = "norce"', "ART 500"),
        (4, "P3", "name", "Benämning", "required",
         "Product name in the feed's culture is required but empty", None),
        (5, "P4", "weight", "Vikt kg", "type",
         "'tung' is not a number with at most 4 decimals, such as 1234,50", "tung"),
        (6, "P5", "vat_rate", "Moms %", "range",
         "'101' is out of range: VAT rate in percent, e.g. 25 must be between 0 and 100", "101"),
        (7, "P6", "name", "Benämning", "length",
         "Product name in the feed's culture must be 1 to 255 characters long, got 256", "x" * 256),
        (8, "P7", "ean", "EAN", "checksum",
         "'7350000000017' is not a valid EAN/GTIN (8, 12, 13 or 14 digits with the right check digit)",
         "7350000000017"),
        (9, "DUP", "part_no", "Artikelnr", "duplicate_key",
         "this key appears on lines 9, 10; fix the duplicates, none was applied", "DUP"),
        (10, "DUP", "part_no", "Artikelnr", "duplicate_key",
         "this key appears on lines 9, 10; fix the duplicates, none was applied", "DUP"),
    ]  # fmt: skip
    assert validated.valid["part_no"].to_list() == ["OK-1", "OK-2"]
    assert validated.valid[LINE].to_list() == [2, 11]
    assert sorted(validated.rejected_keys["part_no"].to_list()) == [
        "ART 500", "DUP", "P3", "P4", "P5", "P6", "P7"
    ]  # fmt: skip
    assert (validated.rows_read, validated.rejected_rows) == (10, 8)


PRICE_HEADER = "ItemNo;PriceList;Qty;Currency;Price;Cost"
SWEDISH = 'encoding = "cp1252"\ndelimiter = ";"\ndecimal = ","'


def run_prices(tmp_path: Path, rows: list[str]) -> Validated:
    path = tmp_path / "prices.csv"
    path.write_bytes(("\n".join([PRICE_HEADER, *rows]) + "\n").encode("cp1252"))
    return check(path, price_contract(tmp_path, SWEDISH), tmp_path / "scratch")


def codes(validated: Validated) -> list[tuple[int, str, str, str]]:
    return validated.rejections.select("line", "field", "source_column", "code").rows()


def test_a_type_failure_is_not_also_reported_as_required(tmp_path: Path) -> None:
    validated = run_prices(tmp_path, ["A;L;1;SEK;gratis;", "B;L;x;SEK;1;", "C;L;1;SEK;;"])

    assert codes(validated) == [
        (2, "price_sale", "Price", "type"),
        (3, "quantity_break", "Qty", "type"),
        (4, "price_sale", "Price", "required"),
    ]
    assert validated.rejections["message"][2] == "Sale price excluding VAT is required but empty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,2345", Decimal("1.2345")), ("1,23456", None), ("0,00001", None), ("1,50000", None)],
)
def test_more_decimals_than_the_type_keeps_is_a_type_failure(
    tmp_path: Path, text: str, expected: Decimal | None
) -> None:
    validated = run_prices(tmp_path, [f"A;L;1;SEK;{text};"])

    if expected is None:
        assert codes(validated) == [(2, "price_sale", "Price", "type")]
        assert validated.rejections["value"].to_list() == [text]
    else:
        assert validated.valid["price_sale"].to_list() == [expected]


def test_a_whole_number_field_takes_no_fraction(tmp_path: Path) -> None:
    # `1,0` is the whole number 1 (tests/read/validate/test_whole_numbers.py); `1,5` is not.
    validated = run_prices(tmp_path, ["A;L;1,5;SEK;1;", "B;L;0;SEK;1;", "C;L;99999999999;SEK;1;"])

    assert codes(validated) == [
        (2, "quantity_break", "Qty", "type"),
        (3, "quantity_break", "Qty", "range"),
        (4, "quantity_break", "Qty", "type"),
    ]


def test_duplicate_keys_reject_every_copy(tmp_path: Path) -> None:
    validated = run_prices(
        tmp_path,
        [
            "A;L;1;SEK;1;",  # 2
            "A;L;1;SEK;2;",  # 3
            "A;L;2;SEK;3;",  # 4: another quantity break, another key
            "A;L;01;SEK;4;",  # 5: the same key once typed
            "B;L;1;SEK;5;",  # 6
        ],
    )

    assert codes(validated) == [(n, "part_no", "ItemNo", "duplicate_key") for n in (2, 3, 5)]
    assert set(validated.rejections["message"]) == {
        "this key appears on lines 2, 3, 5; fix the duplicates, none was applied"
    }
    assert validated.valid.select("part_no", "quantity_break", LINE).rows() == [
        ("A", 2, 4),
        ("B", 1, 6),
    ]
    # The first line of the key stands for it when the diff names what spared an old row.
    assert validated.rejected_keys.rows() == [("A", "L", 1, 2)]


def test_rejected_keys_and_valid_rows_split_the_file(tmp_path: Path) -> None:
    validated = run_prices(
        tmp_path,
        [
            "A;L;1;SEK;1;",
            "B;L;1;sek;1;",  # pattern
            "C;L;1;SEK;0;",  # range: Norce ignores a 0 price
            "D;L;x;SEK;1;",  # type in the key: the readable parts are kept (the diff spares D/L/*)
            "E;L;1;SEK;1;-1",  # range on an optional field
            "F;L;1;SEK;1;",
        ],
    )

    assert validated.valid["part_no"].to_list() == ["A", "F"]
    assert sorted(validated.rejected_keys.rows(), key=str) == [
        ("B", "L", 1, 3),
        ("C", "L", 1, 4),
        ("D", "L", None, 5),
        ("E", "L", 1, 6),
    ]
    assert validated.rejected_keys.schema == pl.Schema(
        {
            "part_no": pl.String,
            "price_list_code": pl.String,
            "quantity_break": pl.Int32,
            LINE: pl.Int64,
        }
    )
    assert [r[3] for r in codes(validated)] == ["pattern", "range", "type", "range"]
    assert validated.rejections["message"].to_list()[1] == (
        "'0' is out of range: Sale price excluding VAT must be above 0"
    )


def test_a_date_in_another_form_is_a_type_failure(tmp_path: Path) -> None:
    path = tmp_path / "stock.xml"
    path.write_text(
        "<StockReport>\n"
        '<Item sku="A"><Warehouse code="W"/><Location>L</Location><OnHand>1</OnHand>'
        "<NextDelivery>01.12.2026</NextDelivery><LeadTimeDays>4000</LeadTimeDays></Item>\n"
        "</StockReport>\n",
        encoding="utf-8",
    )

    validated = check(path, shipped("stock"), tmp_path / "scratch")

    assert validated.rejections.select("line", "source_column", "code", "message").rows() == [
        (
            2,
            "LeadTimeDays",
            "range",
            "'4000' is out of range: Lead time in days must be between 0 and 3650",
        ),
        (2, "NextDelivery", "type", "'01.12.2026' is not a date written like 2026-11-20"),
    ]


def test_a_long_rejected_value_is_stored_once_its_message_quotes_only_its_start() -> None:
    from etl.entities import ENTITIES
    from etl.read.messages import describe

    value = "K" * 200_000
    code, message = describe("str_matches('^[^ ]+$')", "part_no", value, ENTITIES["product"], "")
    assert code == "pattern"
    assert len(message) < 400 and "K" * 60 + "…" in message

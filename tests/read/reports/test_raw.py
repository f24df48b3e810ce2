"""The raw record behind each rejected line, looked up in real files the readers numbered.

Every file is written here and validated with the real pipeline first (`check`), so the
lines asked for are the ones a report holds, and the records must start exactly there.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import openpyxl
import pytest

from etl.config.contract_files import load_contract
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.read.formats.raw import CUT, RAW_LIMIT, raw_records
from tests.fixtures.encodings import zipped
from tests.fixtures.feeds import FIXTURES, check, contract_from, price_contract, shipped
from tests.support.masterdata import write_cp1252_products

# A price export with a record whose quoted note spans two lines, then two bad records.
MULTILINE = (
    "ItemNo,PriceList,Qty,Currency,Price,Cost,Note\r\n"
    "A1,L,1,SEK,10.00,,ok\r\n"
    'A2,L,1,SEK,many,,"two\r\nlines, and ""quotes"""\r\n'
    "A3,L,1,sek,10.00,,x\r\n"
    "A4,L,1,SEK,12.00,,fine\r\n"
)
A2 = 'A2,L,1,SEK,many,,"two\r\nlines, and ""quotes"""'


def raw_of_rejections(path: Path, contract: FeedContract, scratch: Path) -> dict[int, str]:
    """Validate `path`, then look up the raw record of every rejected line."""
    validated = check(path, contract, scratch)
    return raw_records(path, contract, validated.rejections["line"].to_list(), scratch)


def test_a_quoted_newline_keeps_the_record_whole_and_later_lines_right(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(MULTILINE.encode("utf-8"))

    raw = raw_of_rejections(path, price_contract(tmp_path, ""), tmp_path / "scratch")

    assert raw == {3: A2, 5: "A3,L,1,sek,10.00,,x"}


def test_a_cp1252_record_is_decoded_with_the_contracts_encoding(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    good = "100123;ACME;Acme AB;AG-1;AG;Handske Blå L;Blå handske \u2013 läder;GLOVES;7350000000016;25;0,12"
    bad = "100124;ACME;Acme AB;AG-2;AG;Mössa Blå;€ 5;HATS;7350000000017;25;0,1"
    write_cp1252_products(path, [good, bad])

    raw = raw_of_rejections(path, shipped("products"), tmp_path / "scratch")

    assert raw == {3: bad}


def test_an_xml_record_is_its_element_from_start_tag_to_end_tag(tmp_path: Path) -> None:
    path = tmp_path / "stock.xml"
    path.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        "<StockReport>\n"
        '  <Item sku="1"><Warehouse code="MAIN"/><Location>A1</Location>'
        "<OnHand>4</OnHand></Item>\n"
        '  <Item sku="2">\n'
        '    <Warehouse code="MAIN"/>\n'
        "    <Location>Lager Å</Location>\n"
        "    <OnHand>many</OnHand>\n"
        "  </Item>\n"
        '  <Item sku="3"><Warehouse code="MAIN"/><Location>A3</Location>'
        "<OnHand>x</OnHand></Item>\n"
        "</StockReport>\n",
        encoding="iso-8859-1",
    )

    raw = raw_of_rejections(path, shipped("stock"), tmp_path / "scratch")

    assert raw == {
        4: '<Item sku="2">\n    <Warehouse code="MAIN"/>\n    <Location>Lager Å</Location>\n'
        "    <OnHand>many</OnHand>\n  </Item>",
        9: '<Item sku="3"><Warehouse code="MAIN"/><Location>A3</Location><OnHand>x</OnHand></Item>',
    }


def test_an_xlsx_row_is_its_cells_joined(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Priser"
    sheet.append(["Prislista"])  # a title row above the header
    sheet.append(["ItemNo", "PriceList", "Qty", "Currency", "Price", "Cost"])
    sheet.append(["A1", "L", 1, "SEK", 10.5, None])
    sheet.append(["A2", "L", 1, "sek", 10.5, None])
    sheet.append(["A3", None, 2, "SEK", "=1+2", 3])  # a formula never calculated: empty
    path = tmp_path / "prices.xlsx"
    book.save(path)
    contract = contract_from(
        '[feed]\nentity = "price"\n[format]\ntype = "xlsx"\nheader_row = 2\n'
        '[columns]\n"ItemNo" = "part_no"\n"PriceList" = "price_list_code"\n'
        '"Qty" = "quantity_break"\n"Currency" = "currency"\n"Price" = "price_sale"\n'
        '"Cost" = "cost_purchase"\n',
        tmp_path,
    )

    raw = raw_of_rejections(path, contract, tmp_path / "scratch")

    assert raw == {4: "A2 | L | 1 | sek | 10.5", 5: "A3 |  | 2 | SEK |  | 3"}


@pytest.mark.parametrize("suffix", [".csv.gz", ".zip"])
def test_a_compressed_file_is_looked_up_inside(tmp_path: Path, suffix: str) -> None:
    data = MULTILINE.encode("utf-8")
    path = tmp_path / f"prices{suffix}"
    path.write_bytes(
        gzip.compress(data, mtime=0) if suffix == ".csv.gz" else zipped({"prices.csv": data})
    )
    scratch = tmp_path / "scratch"

    raw = raw_of_rejections(path, price_contract(tmp_path, ""), scratch)

    assert raw == {3: A2, 5: "A3,L,1,sek,10.00,,x"}
    assert not list(scratch.iterdir()), "the expanded copy is removed"


def test_a_long_record_is_cut_with_a_marker(tmp_path: Path) -> None:
    note = "x" * 3_000_000  # each line crosses several 1 MiB blocks
    path = tmp_path / "prices.csv"
    path.write_text(
        f"ItemNo,PriceList,Qty,Currency,Price,Cost,Note\nA1,L,1,sek,1.00,,{note}\n"
        f'A2,L,1,sek,1.00,,"{note}\n{note}"\nA3,L,1,sek,1.00,,short\n',
        encoding="utf-8",
    )

    wide = price_contract(tmp_path, "max_cell_bytes = 8_000_000")  # else refused as hostile
    raw = raw_of_rejections(path, wide, tmp_path / "scratch")

    assert raw[2] == ("A1,L,1,sek,1.00,," + note)[:RAW_LIMIT] + CUT
    assert raw[3] == ('A2,L,1,sek,1.00,,"' + note)[:RAW_LIMIT] + CUT
    assert raw[5] == "A3,L,1,sek,1.00,,short"  # the cut record's second line was read past


def test_utf16_with_a_bom_and_lines_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    text = "ItemNo;PriceList;Qty;Currency;Price;Cost\r\nÅ1;L;1;sek;1,00;\r\n"
    path.write_bytes(text.encode("utf-16"))  # with a BOM: encoding = "auto" reads it
    contract = price_contract(tmp_path, 'encoding = "auto"\ndelimiter = ";"\ndecimal = ","')
    assert set(check(path, contract, tmp_path / "scratch").rejections["line"]) == {2}

    raw = raw_records(path, contract, [2, 3, 99], tmp_path / "scratch")

    assert raw == {2: "Å1;L;1;sek;1,00;"}  # past the last record there is nothing to show


def test_a_repeated_xml_element_is_shown_for_its_row(tmp_path: Path) -> None:
    path = FIXTURES / "dialects" / "nested_prices.xml"
    contract = load_contract(FIXTURES / "dialects" / "nested_prices.toml", Settings())

    raw = raw_of_rejections(path, contract, tmp_path / "scratch")

    assert raw == {
        25: '<Price list="B2B-SEK" currency="SEK">0,00</Price>',  # the bad price, not its product
        26: '<Price currency="SEK">239,00</Price>',
        29: '<Product no="100300">\n    <Name>Ny produkt utan priser</Name>\n'
        "    <Prices/>\n  </Product>",  # no <Price> at all: the product's own row
    }


def test_escaped_quotes_do_not_end_a_record_early(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "ItemNo;PriceList;Qty;Currency;Price;Cost;Note\n"
        'A1;L;1;sek;1;;"say \\"hi\\"\nand \\" more"\n'
        "A2;L;1;sek;1;;x\\;y\n",
        encoding="utf-8",
    )
    contract = price_contract(tmp_path, 'delimiter = ";"\nescape = "\\\\"\ndecimal = ","')

    raw = raw_of_rejections(path, contract, tmp_path / "scratch")

    assert raw == {2: 'A1;L;1;sek;1;;"say \\"hi\\"\nand \\" more"', 4: "A2;L;1;sek;1;;x\\;y"}


def test_far_apart_lines_across_many_blocks_are_found(tmp_path: Path) -> None:
    bad = {2, 3, 300, 31_000, 31_001, 79_999}  # near and far jumps, several 1 MiB blocks
    rows = [
        f"P{n},L,1,{'sek' if n in bad else 'SEK'},1.00,,Blå rad {n} {'å' * (n % 7)}"
        for n in range(2, 80_001)
    ]
    path = tmp_path / "prices.csv"
    path.write_text(
        "ItemNo,PriceList,Qty,Currency,Price,Cost,Note\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )

    raw = raw_of_rejections(path, price_contract(tmp_path, ""), tmp_path / "scratch")

    assert raw == {n: rows[n - 2] for n in bad}


def test_an_xml_record_is_decoded_in_the_encoding_its_contract_names(tmp_path: Path) -> None:
    # UTF-8 under a Latin-1 declaration: the contract names UTF-8, the reader honours it,
    # and the report's raw record must show the same text the reader read.
    path = tmp_path / "stock.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<StockReport>\n'
        + '  <Item sku="2"><Warehouse code="MAIN"/><Location>Lager Å</Location>'.encode()
        + b"<OnHand>many</OnHand></Item>\n</StockReport>\n"
    )
    stock = shipped("stock")
    contract = stock.model_copy(
        update={"format": stock.format.model_copy(update={"encoding": "utf-8"})}
    )
    assert "encoding" in contract.format.model_fields_set

    raw = raw_of_rejections(path, contract, tmp_path / "scratch")

    assert raw == {
        3: '<Item sku="2"><Warehouse code="MAIN"/><Location>Lager Å</Location>'
        "<OnHand>many</OnHand></Item>"
    }

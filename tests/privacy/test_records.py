"""The record rule: values many people share are masked only in the person's own records."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl

from etl.privacy.masking import ERASED, Masker, Person
from etl.privacy.rewrite import json_file, parquet_file, text_lines, xlsx_file, xml_file

EVA = Masker(
    Person(
        anchors=frozenset({"K-1005", "eva@example.se"}),
        strong=frozenset({"eva@example.se"}),
        weak=frozenset({"Eva", "Malmö"}),
    )
)


def test_another_eva_in_malmo_keeps_her_name_and_town(tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes(
        "K-1005;Eva;Malmö;EVA@example.se\r\nK-2000;Eva;Malmö;eva2@x.se\r\n".encode("cp1252")
    )

    assert text_lines(path, EVA, True) == 3

    assert path.read_bytes().decode("cp1252").splitlines() == [
        f"K-1005;{ERASED};{ERASED};{ERASED}",
        "K-2000;Eva;Malmö;eva2@x.se",
    ]


def test_a_strong_value_goes_wherever_it_stands(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("mail from eva@example.se about Eva\n", encoding="utf-8")

    text_lines(path, EVA, True)

    assert path.read_text(encoding="utf-8") == f"mail from {ERASED} about {ERASED}\n"


def test_json_list_items_are_records_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "payload.json"
    items = [{"Code": "K-1005", "FirstName": "Eva"}, {"Code": "K-2000", "FirstName": "Eva"}]
    path.write_text(json.dumps({"Header": {"City": "Malmö"}, "Items": items}), encoding="utf-8")

    json_file(path, EVA, True)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert [i["FirstName"] for i in document["Items"]] == [ERASED, "Eva"]
    assert document["Header"]["City"] == "Malmö"  # the header names nobody


def test_xml_repeated_records_and_the_order_as_one(tmp_path: Path) -> None:
    listing, order = tmp_path / "list.xml", tmp_path / "order.xml"
    listing.write_bytes(
        b"<rows><row><code>K-1005</code><name>Eva</name></row>"
        b"<row><code>K-2000</code><name>Eva</name></row></rows>"
    )
    order.write_bytes(
        b"<Order><SellTo><Email>eva@example.se</Email></SellTo>"
        b"<ShipTo><Name>Eva</Name><City>Malm\xc3\xb6</City></ShipTo></Order>"
    )

    xml_file(listing, EVA, True)
    xml_file(order, EVA, True)

    assert listing.read_bytes().count(b"<name>Eva</name>") == 1
    assert b"Eva" not in order.read_bytes() and b"Malm" not in order.read_bytes()


def test_xlsx_rows_and_parquet_rows_keep_the_key(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["K-1005", "Eva"], ["K-2000", "Eva"]):
        sheet.append(row)
    book.save(tmp_path / "report.xlsx")
    frame = pl.DataFrame({"code": ["K-1005", "K-2000"], "first_name": ["Eva", "Eva"]})
    frame.write_parquet(tmp_path / "snap.parquet")

    xlsx_file(tmp_path / "report.xlsx", EVA, True)
    parquet_file(tmp_path / "snap.parquet", EVA, True, keep=("code",))

    reopened = openpyxl.load_workbook(tmp_path / "report.xlsx").active
    assert reopened is not None
    assert [list(r) for r in reopened.iter_rows(values_only=True)] == [
        ["K-1005", ERASED],
        ["K-2000", "Eva"],
    ]
    assert pl.read_parquet(tmp_path / "snap.parquet").rows() == [
        ("K-1005", ERASED),
        ("K-2000", "Eva"),
    ]


def test_xml_attributes_and_a_utf16_text_file_are_masked_too(tmp_path: Path) -> None:
    listing, utf16 = tmp_path / "attrs.xml", tmp_path / "kunder.txt"
    listing.write_bytes(
        b'<rows><row code="K-1005" name="Eva"/><row code="K-2000" name="Eva"/></rows>'
    )
    utf16.write_bytes("K-1005;Eva\r\nK-2000;Eva\r\n".encode("utf-16"))

    xml_file(listing, EVA, True)
    text_lines(utf16, EVA, True)

    assert listing.read_bytes().count(b'name="Eva"') == 1
    assert utf16.read_bytes().decode("utf-16") == f"K-1005;{ERASED}\r\nK-2000;Eva\r\n"

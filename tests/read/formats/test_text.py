"""Encodings: legacy code pages read back exactly; a bad byte names its offset and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import ParseError
from etl.read.formats import read_file
from etl.read.formats.text import CHUNK, as_utf8
from tests.fixtures.feeds import PRODUCTS_HEADER, check, price_contract, shipped


def products_file(path: Path, rows: list[str], encoding: str = "cp1252") -> Path:
    path.write_bytes(("\r\n".join([PRODUCTS_HEADER, *rows]) + "\r\n").encode(encoding))
    return path


def test_cp1252_swedish_letters_and_the_euro_sign_read_back_exactly(
    tmp_path: Path, scratch: Path
) -> None:
    name = "Räksmörgås ÅÄÖ åäö \u2013 5 € \u201cextra\u201d"
    path = products_file(tmp_path / "p.csv", [f"1;ACME;Åre Öl AB;A-1;A;{name};Därför;CAT;;25;0,5"])
    assert "€".encode("cp1252") in path.read_bytes()  # really the one-byte cp1252 form

    parsed = read_file(path, shipped("products"), scratch)

    assert parsed.columns[1] == "Varumärke"
    assert parsed.frame.row(0, named=True)["Benämning"] == name
    assert parsed.frame.row(0, named=True)["Tillverkare"] == "Åre Öl AB"
    assert not list(scratch.glob("*")), "the UTF-8 copy is removed after reading"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_a_bom_never_reaches_the_first_column_name(
    tmp_path: Path, scratch: Path, encoding: str
) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(b"\xef\xbb\xbfItemNo,PriceList,Qty,Currency,Price,Cost\r\n1,L,1,SEK,2.50,\r\n")
    contract = price_contract(tmp_path, f'encoding = "{encoding}"')

    parsed = read_file(path, contract, scratch)
    validated = check(path, contract, scratch)

    assert parsed.columns[0] == "ItemNo"
    assert validated.valid["part_no"].to_list() == ["1"]
    assert validated.valid["price_sale"].to_list() == [Decimal("2.50")]


def test_utf16_text_that_is_all_ascii_is_still_converted(tmp_path: Path, scratch: Path) -> None:
    # Every byte of ASCII text in UTF-16-LE is below 0x80: "looks ASCII" is not "is ASCII".
    path = tmp_path / "prices.csv"
    path.write_bytes(
        "ItemNo;PriceList;Qty;Currency;Price;Cost\n7;L;1;SEK;3,5;\n".encode("utf-16-le")
    )
    contract = price_contract(tmp_path, 'encoding = "utf-16-le"\ndelimiter = ";"\ndecimal = ","')

    validated = check(path, contract, scratch)

    assert validated.valid.select("part_no", "price_sale").rows() == [("7", Decimal("3.5"))]


def bad_byte_case(tmp_path: Path, prefix: bytes, bad: bytes, encoding: str) -> tuple[Path, int]:
    data = prefix + b"ItemNo,PriceList\n1,A\n2,A\n3," + bad + b"x\n4,A\n"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    return path, data.index(bad)


@pytest.mark.parametrize(
    ("encoding", "prefix", "bad"),
    [
        ("utf-8", b"", b"\xff"),
        ("utf-8", b"", b"\xc3\x28"),  # a lead byte followed by ASCII
        ("utf-8-sig", b"\xef\xbb\xbf", b"\xff"),  # the BOM must not shift the offset
        ("cp1252", b"", b"\x81"),  # undefined in Windows-1252
    ],
    ids=["utf8-ff", "utf8-broken-pair", "utf8-bom", "cp1252-81"],
)
def test_a_byte_that_does_not_decode_names_offset_and_line(
    tmp_path: Path, scratch: Path, encoding: str, prefix: bytes, bad: bytes
) -> None:
    path, offset = bad_byte_case(tmp_path, prefix, bad, encoding)

    with pytest.raises(ParseError) as caught:
        as_utf8(path, encoding, scratch)

    assert caught.value.line == 4
    assert f"at byte {offset} " in str(caught.value)
    assert f"(bytes {bad[0]:02x}" in str(caught.value)
    assert str(caught.value).startswith("bad.csv: ")


def test_the_offset_is_exact_across_the_read_chunk_boundary(tmp_path: Path, scratch: Path) -> None:
    # "ä" split over the chunk boundary is held back by the decoder; the bad byte after it
    # must still be reported at its own offset and line.
    head = b"a\n" * 10 + b"x" * (CHUNK - 21)
    data = head + "ä".encode() + b"\xff\n"
    assert data[CHUNK - 1 : CHUNK + 1] == "ä".encode()
    path = tmp_path / "big.csv"
    path.write_bytes(data)

    with pytest.raises(ParseError) as caught:
        as_utf8(path, "utf-8", scratch)

    assert f"at byte {CHUNK + 1} " in str(caught.value)
    assert caught.value.line == 11


def test_a_file_cut_inside_a_multibyte_character_is_refused(tmp_path: Path, scratch: Path) -> None:
    data = "ItemNo,PriceList\n1,Smörgås\n2,Å".encode()[:-1]
    path = tmp_path / "cut.csv"
    path.write_bytes(data)

    with pytest.raises(ParseError) as caught:
        read_file(path, price_contract(tmp_path, ""), scratch)

    assert "truncated" in str(caught.value)
    assert f"at byte {len(data) - 1} " in str(caught.value)
    assert caught.value.line == 3


def test_pure_ascii_in_a_legacy_code_page_is_read_in_place(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "ascii.csv"
    path.write_bytes(b"a;b\n1;2\n")

    assert as_utf8(path, "cp1252", scratch) == path
    assert not list(scratch.glob("*"))

"""The XML shape bounds' edges, in process on small files: what counts, where a refusal points."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.errors import ParseError
from etl.read.formats import read_file
from etl.read.formats.compressed import expanded
from etl.read.formats.xml_bounds import XML_MAX_ROWS, Bounds
from tests.fixtures.feeds import contract_from

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<Items>\n'


def items(folder: Path, bounds: str = "", repeat: bool = False) -> FeedContract:
    """Items/Item (@sku, Name); with `repeat`, a row per Prices/Price (its @sku, the Name)."""
    fmt = 'record = "Items/Item"\nrepeat = "Prices/Price"' if repeat else 'record = "Items/Item"'
    sku = "Prices/Price/@sku" if repeat else "@sku"
    text = (
        f'[feed]\nentity = "product"\n[format]\ntype = "xml"\n{fmt}\n{bounds}\n'
        f'[columns]\n"{sku}" = "part_no"\n"Name" = "name"\n[defaults]\nmanufacturer_code = "M"\n'
    )
    return contract_from(text, folder, "items")


def write(path: Path, body: str) -> Path:
    path.write_text(HEAD + body + "</Items>\n", encoding="utf-8")
    return path


def refusal(path: Path, contract: FeedContract, scratch: Path) -> ParseError:
    with pytest.raises(ParseError) as refused:
        read_file(path, contract, scratch)
    return refused.value


def test_a_read_text_is_measured_in_utf8_bytes(tmp_path: Path) -> None:
    """600 characters of 'é' are 1,200 bytes: over a bound of 1,024, though 600 < 1,024."""
    contract = items(tmp_path, "max_cell_bytes = 1024")
    fits = write(tmp_path / "fits.xml", f'<Item sku="A1"><Name>{"é" * 512}</Name></Item>\n')
    assert read_file(fits, contract, tmp_path / "s").frame["Name"].to_list() == ["é" * 512]

    big = write(tmp_path / "big.xml", f'<Item sku="A1">\n<Name>{"é" * 600}</Name></Item>\n')
    error = refusal(big, contract, tmp_path / "s")

    assert str(error).startswith(
        "big.xml: the text of Items/Item/Name is longer than 1,024 bytes (format.max_cell_bytes)"
        ": refused as a broken export (column "
    )
    assert error.line == 4


def test_a_long_text_that_is_not_read_is_refused_as_it_streams(tmp_path: Path) -> None:
    body = f'<Item sku="A1"><Name>x</Name><Note>{"n" * 5000}</Note></Item>\n'
    path = write(tmp_path / "note.xml", body)

    error = refusal(path, items(tmp_path, "max_cell_bytes = 1024"), tmp_path / "s")

    assert "the text of an element in Items/Item is longer than 1,024 bytes" in str(error)
    assert error.line == 3


def test_a_read_attribute_value_over_the_bound_is_refused_where_its_tag_is(tmp_path: Path) -> None:
    body = '<Item sku="A1"><Name>x</Name></Item>\n' + f'<Item sku="{"K" * 2000}"/>\n'
    path = write(tmp_path / "sku.xml", body)

    error = refusal(path, items(tmp_path, "max_cell_bytes = 1024"), tmp_path / "s")

    assert str(error) == (
        "sku.xml: the value of Items/Item/@sku is longer than 1,024 bytes "
        "(format.max_cell_bytes): refused as a broken export (column 1), line 4"
    )


def test_a_tag_expat_holds_past_the_bound_by_a_block_is_refused(tmp_path: Path) -> None:
    """An attribute that is not read still makes expat hold its whole start tag."""
    path = write(tmp_path / "tag.xml", f'<Item sku="A1" junk="{"j" * 2_200_000}"/>\n')

    error = refusal(path, items(tmp_path), tmp_path / "s")

    assert "a tag or comment longer than 262,144 bytes (format.max_cell_bytes)" in str(error)
    assert "(column 1), line 3" in str(error)


def test_rows_are_counted_as_occurrences_of_the_repeat(tmp_path: Path) -> None:
    contract = items(tmp_path, "max_rows = 3", repeat=True)
    price = '<Price sku="A1"/>\n'
    three = write(tmp_path / "three.xml", f'<Item sku="A1"><Prices>\n{price * 3}</Prices></Item>\n')
    assert read_file(three, contract, tmp_path / "s").frame.height == 3

    four = write(tmp_path / "four.xml", f'<Item sku="A1"><Prices>\n{price * 4}</Prices></Item>\n')
    error = refusal(four, contract, tmp_path / "s")

    assert "more than 3 rows (format.max_rows): refused as a broken export" in str(error)
    assert error.line == 7  # the fourth price


def test_an_empty_record_is_a_row_and_counts(tmp_path: Path) -> None:
    contract = items(tmp_path, "max_rows = 2", repeat=True)
    path = write(tmp_path / "empty.xml", '<Item sku="A1"/>\n<Item sku="A2"/>\n<Item sku="A3"/>\n')

    error = refusal(path, contract, tmp_path / "s")

    assert "more than 2 rows (format.max_rows)" in str(error)
    assert error.line == 5


def test_xml_rows_default_lower_than_csv_unless_the_contract_says() -> None:
    """Each XML row is Python values until the file ends: 2 million by default, not 20."""
    assert Bounds.of(FormatSpec(type="xml", record="A/B")).rows == XML_MAX_ROWS == 2_000_000
    assert Bounds.of(FormatSpec(type="xml", record="A/B", max_rows=30_000_000)).rows == 30_000_000


def test_nesting_deeper_than_the_bound_is_refused(tmp_path: Path) -> None:
    contract = items(tmp_path)
    fits = write(
        tmp_path / "fits.xml",
        '<Item sku="A1"><Name>x</Name>' + "<d>" * 250 + "</d>" * 250 + "</Item>\n",
    )
    assert read_file(fits, contract, tmp_path / "s").frame.height == 1

    deep = write(
        tmp_path / "deep.xml", '<Item sku="A1">' + "<d>" * 300 + "</d>" * 300 + "</Item>\n"
    )
    error = refusal(deep, contract, tmp_path / "s")

    assert "elements nested more than 256 deep: refused as a broken export" in str(error)


def test_more_distinct_names_than_max_columns_are_refused(tmp_path: Path) -> None:
    contract = items(tmp_path, "max_columns = 10")
    names = "".join(f"<n{n}/>" for n in range(10))
    path = write(tmp_path / "names.xml", f'<Item sku="A1"><Name>x</Name>{names}</Item>\n')

    error = refusal(path, contract, tmp_path / "s")

    assert "more than 10 distinct element and attribute names (format.max_columns)" in str(error)


def test_a_gzip_bomb_is_refused_while_it_expands(tmp_path: Path) -> None:
    """Refused inside `expanded`, before the reader runs, and the partial copy removed."""
    path = tmp_path / "text.xml.gz"
    with gzip.open(path, "wb") as out:
        out.write(f'{HEAD}<Item sku="A1"><Name>'.encode())
        for _ in range(8):
            out.write(b"N" * (1 << 20))
        out.write(b"</Name></Item></Items>\n")
    scratch = tmp_path / "scratch"

    with pytest.raises(ParseError) as refused, expanded(path, items(tmp_path).format, scratch):
        pytest.fail("the whole 8 MiB was expanded")

    assert str(refused.value).startswith(
        "text.xml.gz: the text of Items/Item/Name is longer than 262,144 bytes"
    )
    assert not [p for p in scratch.rglob("*") if p.is_file()]


def test_a_zip_member_of_too_many_records_is_refused_while_it_expands(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", HEAD + '<Item sku="A1"/>\n' * 5 + "</Items>\n")
    path = tmp_path / "items.zip"
    path.write_bytes(buffer.getvalue())

    with pytest.raises(ParseError) as refused:
        read_file(path, items(tmp_path, "max_rows = 4"), tmp_path / "scratch")

    assert "items.zip: more than 4 rows (format.max_rows)" in str(refused.value)
    assert refused.value.line == 7
    assert not [p for p in (tmp_path / "scratch").rglob("*") if p.is_file()]


def test_nesting_above_the_records_counts_too(tmp_path: Path) -> None:
    path = write(tmp_path / "above.xml", "<x>" * 300 + "</x>" * 300 + '<Item sku="A1"/>\n')

    error = refusal(path, items(tmp_path), tmp_path / "s")

    assert "elements nested more than 256 deep" in str(error)


def test_nesting_in_a_repeated_record_is_bounded(tmp_path: Path) -> None:
    body = (
        '<Item><Prices><Price sku="A1">' + "<d>" * 300 + "</d>" * 300 + "</Price></Prices></Item>\n"
    )
    path = write(tmp_path / "deep.xml", body)

    error = refusal(path, items(tmp_path, repeat=True), tmp_path / "s")

    assert "elements nested more than 256 deep" in str(error)


def test_an_xml_gz_is_checked_whole_while_it_expands(tmp_path: Path) -> None:
    """Its nesting, and that it ends: a truncated document is refused before the reader runs."""
    deep, cut = tmp_path / "deep.xml.gz", tmp_path / "cut.xml.gz"
    deep.write_bytes(gzip.compress((HEAD + '<Item sku="A1">' + "<d>" * 300).encode()))
    cut.write_bytes(gzip.compress((HEAD + '<Item sku="A1"><Name>x</Name>').encode()))
    fmt = items(tmp_path).format

    for path, says in (
        (deep, "deep.xml.gz: elements nested more than 256 deep"),
        (cut, "cut.xml.gz: not well-formed XML: no element found"),
    ):
        with pytest.raises(ParseError) as refused, expanded(path, fmt, tmp_path / "scratch"):
            pytest.fail(f"{path.name} was expanded")
        assert str(refused.value).startswith(says)

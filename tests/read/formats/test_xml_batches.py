"""The XML reader's rows become frames a batch at a time: nothing is lost, moved or renumbered
where one batch ends and the next begins, with or without `format.repeat`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.models import LINE
from etl.read.formats.xml import read_xml
from etl.read.formats.xml_batches import BATCH_ROWS, Batches
from etl.read.formats.xml_bounds import BLOCK

RECORDS = BATCH_ROWS + 7  # two batches, the last one short


def test_records_past_a_batch_keep_their_cells_lines_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "items.xml"
    body = "".join(
        f'<Item sku="S{n}">\n<Name> n{n} </Name>{"<Note>last</Note>" if n == RECORDS else ""}'
        "</Item>\n"
        for n in range(1, RECORDS + 1)
    )
    path.write_text(f"<Items>\n{body}</Items>\n", encoding="utf-8")
    assert path.stat().st_size > 2 * BLOCK  # batches are made between blocks
    fields = ["@sku", "Name", "position()", "Note", "Missing"]

    parsed = read_xml(path, FormatSpec(type="xml", record="Items/Item"), fields)

    assert parsed.frame.columns == [*fields, LINE]
    assert parsed.frame.rows() == [
        (f"S{n}", f"n{n}", str(n), "last" if n == RECORDS else None, None, 2 * n)
        for n in range(1, RECORDS + 1)
    ]
    assert parsed.absent == ("Missing",)


def test_repeated_rows_past_a_batch_get_their_records_cells(tmp_path: Path) -> None:
    """A record's own cells come at its end, after its prices: a batch waits for them."""
    items = BATCH_ROWS // 2 + 3  # three prices each: two batches and a bit
    path = tmp_path / "prices.xml"
    body = "".join(
        f'<Item sku="S{n}"><Prices>\n<Price list="A">1</Price>\n<Price list="B">2</Price>\n'
        f'<Price list="C">3</Price>\n</Prices><Name>n{n}</Name></Item>\n'
        for n in range(1, items + 1)
    )
    path.write_text(f"<Items>\n{body}</Items>\n", encoding="utf-8")
    fmt = FormatSpec(type="xml", record="Items/Item", repeat="Prices/Price")
    fields = ["@sku", "Name", "Prices/Price/@list", "Prices/Price", "Prices/Price/position()"]

    frame = read_xml(path, fmt, fields).frame

    assert frame.height == 3 * items > BATCH_ROWS
    assert frame.rows() == [
        (f"S{n}", f"n{n}", code, str(k + 1), str(k + 1), 2 + 5 * (n - 1) + k + 1)
        for n in range(1, items + 1)
        for k, code in enumerate("ABC")
    ]


def test_an_unread_text_running_past_a_block_is_refused_where_it_started(tmp_path: Path) -> None:
    """Found between two blocks, the refusal still names the text's own line and column."""
    path = tmp_path / "note.xml"
    path.write_text(
        f'<Items>\n<Item sku="A1"><Name>x</Name><Note>{"n" * (BLOCK + 100)}</Note></Item>\n'
        "</Items>\n",
        encoding="utf-8",
    )

    with pytest.raises(ParseError) as refused:
        read_xml(path, FormatSpec(type="xml", record="Items/Item"), ["@sku", "Name"])

    assert str(refused.value) == (
        "note.xml: the text of an element in Items/Item is longer than 262,144 bytes "
        "(format.max_cell_bytes): refused as a broken export (column 36), line 2"
    )


def test_a_field_no_record_of_a_batch_has_is_the_same_nulls_as_text_would_be() -> None:
    """Nulls built without a list (they take no room) equal a text column of nulls."""
    batches = Batches(["Name", "Note"])
    batches.add([["a", None], [None, None]], [2, 3])
    batches.add([[None], ["last"]], [4])

    frame = batches.frame()

    expected = pl.DataFrame(
        {"Name": ["a", None, None], "Note": [None, None, "last"], LINE: [2, 3, 4]},
        schema={"Name": pl.String, "Note": pl.String, LINE: pl.Int64},
    )
    assert_frame_equal(frame, expected)
    assert batches.valued == [True, True]
    assert Batches(["Gone"]).valued == [False]

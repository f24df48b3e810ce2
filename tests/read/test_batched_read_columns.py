"""Batches carry only the columns the feed reads, and still give the whole file's result.

Cells of columns no field reads are not trimmed, yet they still decide whether a row is
blank (a row blank in every column read but not in the others is a row, rejected for its
missing key; one blank everywhere is skipped as an empty line), and a cell too big in them
still refuses the file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contracts import FeedContract
from etl.errors import ParseError
from etl.models import LINE
from etl.read.batched import batchable, validated_in_batches
from etl.read.formats.csv_batches import csv_batches
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import contract_from
from tests.support.validated import assert_same_validated

HEADER = "Extra1;ItemNo;PriceList;Extra2;Currency;Price;Extra3"
# Extra1..3 are in the file but read by no field.
CONTRACT = """[feed]
entity = "price"
[format]
type = "csv"
encoding = "{encoding}"
delimiter = ";"
decimal = ","
null_values = ["", "NULL"]
[columns]
"ItemNo" = "part_no"
"PriceList" = "price_list_code"
"Currency" = "currency"
"Price" = "price_sale"
[defaults]
quantity_break = "1"
"""
# Cells that trimming or the null spellings change, or not; a no-break space is trimmed too.
CELLS = ["", " ", "\u00a0", "NULL", " NULL ", "x", " x ", "A", "B", "C", "Å €"]
# (encoding, line end, what the file starts with)
DIALECTS = [("utf-8", "\n", b""), ("utf-8", "\r\n", b"\xef\xbb\xbf"), ("cp1252", "\r\n", b"")]
PRICE_ROWS = st.lists(
    st.tuples(
        st.sampled_from([*CELLS, "A", "B"]),  # ItemNo: duplicates and blanks happen
        st.sampled_from(["L", " L", "", " "]),
        st.sampled_from(["SEK", "", " SEK "]),
        st.sampled_from(["9,5", "", "x"]),
        st.lists(st.sampled_from(CELLS), min_size=3, max_size=3),  # the unread cells
    ),
    min_size=1,
    max_size=12,
)


def _contract(folder: Path, encoding: str = "utf-8") -> FeedContract:
    return contract_from(CONTRACT.format(encoding=encoding), folder / "contract", "prices")


def _file(
    folder: Path,
    rows: list[tuple[str, str, str, str, list[str]]],
    dialect: tuple[str, str, bytes] = DIALECTS[0],
) -> Path:
    encoding, end, start = dialect
    lines = [HEADER]
    for item, price_list, currency, price, (e1, e2, e3) in rows:
        lines.append(";".join([e1, item, price_list, e2, currency, price, e3]))
    path = folder / "p.csv"
    path.write_bytes(start + (end.join(lines) + end).encode(encoding))
    return path


@settings(max_examples=60, deadline=None)
@given(rows=PRICE_ROWS, size=st.integers(1, 4), dialect=st.sampled_from(DIALECTS))
def test_batches_of_the_read_columns_give_the_whole_files_result(
    rows: list[tuple[str, str, str, str, list[str]]], size: int, dialect: tuple[str, str, bytes]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, contract = _file(folder, rows, dialect), _contract(folder, dialect[0])
        assert not batchable(path, contract)  # small: the whole-file path
        whole = parse_and_validate(path, contract, folder / "scratch")
        batched = validated_in_batches(path, contract, folder / "scratch", rows=size)
    if batched is not None:  # None: a key in two batches, or a line of no field at all
        assert_same_validated(batched, whole)


def test_a_row_blank_only_in_the_columns_read_is_a_row(tmp_path: Path) -> None:
    rows = [
        ("A", "L", "SEK", "9,5", ["", "", ""]),
        ("", " ", "", "", ["", " kept ", ""]),  # blank in every column read: still a row
        (" ", "", "NULL", "", [" ", "\u00a0", "NULL"]),  # blank everywhere: skipped
        ("B", "L", "SEK", "9,5", ["x", "", ""]),
    ]
    path, contract = _file(tmp_path, rows), _contract(tmp_path)
    batched = validated_in_batches(path, contract, tmp_path / "scratch", rows=3)
    assert batched is not None
    assert batched.rows_read == 3 and batched.unkeyed_lines == (3,)
    assert_same_validated(batched, parse_and_validate(path, contract, tmp_path / "scratch"))


def test_batches_hold_the_columns_read_and_name_every_column(tmp_path: Path) -> None:
    path = _file(tmp_path, [("A", "L", "SEK", "9,5", [" a ", "b", "c"])])
    contract = _contract(tmp_path)
    read = contract.read_columns()
    [batch] = csv_batches(path, contract.format, tmp_path / "scratch", read=read)
    assert batch.columns == tuple(HEADER.split(";"))
    assert batch.frame.columns == [c for c in HEADER.split(";") if c in read] + [LINE]
    [whole] = csv_batches(path, contract.format, tmp_path / "scratch")
    assert whole.frame.get_column("Extra1").to_list() == ["a"]  # trimmed when read


def test_a_cell_too_big_in_a_column_not_read_still_refuses_the_file(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    big = "x" * (contract.format.max_cell_bytes + 1)
    path = _file(tmp_path, [("A", "L", "SEK", "9,5", ["", "", ""])] * 3)
    path.write_text(path.read_text() + f"B;B;L;{big};SEK;9,5;\n")
    with pytest.raises(ParseError) as caught:
        list(csv_batches(path, contract.format, tmp_path / "scratch", read=contract.read_columns()))
    assert (caught.value.line, caught.value.column) == (5, "Extra2")

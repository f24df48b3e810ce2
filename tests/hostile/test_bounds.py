"""The shape bounds' edges, in process on small files: what counts, where the refusal points."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from etl.config.contracts import FeedContract
from etl.errors import ParseError
from etl.read.formats import read_file
from etl.read.formats.csv_bounds import count_data, refuse_many_lines
from etl.read.formats.csv_dialect import Head
from tests.fixtures.feeds import contract_from, price_contract
from tests.support import hostile_files as make

HEADER = "ItemNo,PriceList,Qty,Currency,Price,Cost"


def sheet_contract(folder: Path, bound: str) -> FeedContract:
    """An XLSX product feed of the one column the made workbooks have, with `bound` set."""
    text = (
        f'[feed]\nentity = "product"\n[format]\ntype = "xlsx"\n{bound}\n'
        '[columns]\n"sku" = "part_no"\n[defaults]\nmanufacturer_code = "M"\nname = "x"\n'
    )
    return contract_from(text, folder, "sheet")


def row(n: int, cost: str = "") -> str:
    return f"A{n},L,1,SEK,1.00,{cost}"


def test_blank_lines_inside_quoted_cells_are_text(tmp_path: Path) -> None:
    """Paragraph breaks in quoted cells are many, and none of them is a blank line."""
    rows = [row(n, '"first\n\nsecond"') for n in range(6_000)]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    parsed = read_file(path, price_contract(tmp_path, ""), tmp_path / "scratch")

    assert parsed.frame.height == 6_000
    assert parsed.frame["_line"][-1] == 2 + 3 * 5_999


def test_one_blank_line_past_the_bound_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    blanks = "\n" * 4  # three blank lines between the rows, then one more
    path.write_text(f"{HEADER}\n{row(1)}\n\n\n{row(2)}\n{blanks}{row(3)}\n", encoding="utf-8")
    contract = price_contract(tmp_path, "max_blank_lines = 3")

    with pytest.raises(ParseError) as refused:
        read_file(path, contract, tmp_path / "scratch")

    assert refused.value.line == 7  # the fourth blank line
    assert "more than 3 blank lines (format.max_blank_lines)" in str(refused.value)


def test_blank_lines_after_a_quote_left_open_are_inside_its_cell(tmp_path: Path) -> None:
    utf8 = tmp_path / "open.csv"
    utf8.write_text(f'{HEADER}\nA1,"L\n' + "\n" * 5_000 + "x" * 2_000 + "\n", encoding="utf-8")
    contract = price_contract(tmp_path, "max_blank_lines = 10\nmax_line_bytes = 1024")
    head = Head(1, tuple(HEADER.split(",")), len(HEADER) + 1, 2)

    counts = count_data(utf8, head, contract.format)
    assert 2 * counts.pairs > 10  # worth a walk, which finds them all inside the open cell

    refuse_many_lines(utf8, utf8, head, contract.format, counts)


def test_rows_past_max_rows_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER, *(row(n) for n in range(4))]) + "\n", encoding="utf-8")

    with pytest.raises(ParseError) as refused:
        read_file(path, price_contract(tmp_path, "max_rows = 3"), tmp_path / "scratch")

    assert refused.value.line == 5
    assert "4 lines of data, more than format.max_rows = 3" in str(refused.value)


def test_a_gzip_past_max_rows_is_refused_as_it_expands_and_its_copy_removed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "prices.csv.gz"
    text = "\n".join([HEADER, *(row(n) for n in range(10))]) + "\n"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    scratch = tmp_path / "scratch"

    with pytest.raises(ParseError, match=r"expands to more than 6 lines \(format.max_rows"):
        read_file(path, price_contract(tmp_path, "max_rows = 5"), scratch)

    assert not [p for p in scratch.rglob("*") if p.is_file()]


def test_a_cell_past_max_cell_bytes_is_named_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\n{row(1)}\n{row(2, 'é' * 600)}\n", encoding="utf-8")

    with pytest.raises(ParseError) as refused:
        read_file(path, price_contract(tmp_path, "max_cell_bytes = 1024"), tmp_path / "s")

    assert (refused.value.line, refused.value.column) == (3, "Cost")  # 1 200 bytes, 600 chars


def test_an_xlsx_cell_past_max_columns_is_refused(tmp_path: Path) -> None:
    path = make.xlsx_far_cell(tmp_path / "prices.xlsx", "E2")
    contract = sheet_contract(tmp_path, "max_columns = 4")

    with pytest.raises(ParseError) as refused:
        read_file(path, contract, tmp_path / "scratch")

    assert (refused.value.line, refused.value.column) == (2, "E")


def test_an_xlsx_text_just_under_max_cell_bytes_is_read(tmp_path: Path) -> None:
    path = make.xlsx_shared_string(tmp_path / "prices.xlsx", 4 * make.MIB)
    fits = sheet_contract(tmp_path, f"max_cell_bytes = {5 * make.MIB}")

    parsed = read_file(path, fits, tmp_path / "scratch")

    assert parsed.frame["sku"].str.len_bytes().to_list() == [4 * make.MIB]

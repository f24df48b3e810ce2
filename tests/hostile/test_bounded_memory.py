"""Hostile shapes are refused with bounded memory: a real `run.py` under an address-space limit.

Each file is a few MB at most and asks the old readers for gigabytes (measured on the code
before these bounds: a Rust allocation failure and SIGABRT, or MemoryError, for every case
below under this limit). The limit is on address space, not RSS: polars, rayon and calamine
reserve far more address space than they touch, and a plain check of a two-line file aborts
now and then under 1 GiB of address space. 2 GiB is reliable for the fixed code, beyond what
every old run here needed, and keeps a failing run from taking the machine down. What the
issue asks, peak RSS under 1 GB, is then measured exactly from the child's rusage.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from tests.support import hostile_files as make
from tests.support.bounded_runs import PEAK_RSS, run_limited
from tests.support.homes import home_with_feeds

MIB = make.MIB

_CONTRACT = """[feed]
name = "{name}"
entity = "product"
[source]
store = "erp"
folder = "{name}"
pattern = "*"
ready = "temp_name"
[format]
type = "{type}"
[columns]
"sku" = "part_no"
{columns}
[defaults]
manufacturer_code = "ACME"
{defaults}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a CSV feed `items` (sku, name) and an XLSX feed `sheet` (sku)."""
    contract = _CONTRACT.format
    return home_with_feeds(
        tmp_path,
        {
            "items": contract(name="items", type="csv", columns='"name" = "name"', defaults=""),
            "sheet": contract(name="sheet", type="xlsx", columns="", defaults='name = "x"'),
        },
    )


Maker = Callable[[Path], Path]
CASES: dict[str, tuple[str, str, Maker, str]] = {
    # name: (file name, feed, how to make it, what the refusal says)
    "csv header of a million columns": (
        "wide.csv",
        "items",
        lambda p: make.csv_wide_header(p, 1_000_000),
        "the header has 1,000,000 fields, more than format.max_columns = 1,000"
        ": refused as a broken export, line 1, column 'c1000'",
    ),
    "csv of eight million blank lines": (
        "blank.csv",
        "items",
        lambda p: make.csv_blank_lines(p, 8_000_000, columns=11),
        "more than 10,000 blank lines (format.max_blank_lines): refused as a broken export, "
        "line 10003",
    ),
    "csv with keys of 9 MB": (
        "keys.csv",
        "items",
        lambda p: make.csv_huge_keys(p, 8, 9 * MIB),
        "a cell of 9,437,185 bytes, more than format.max_cell_bytes = 262,144: "
        "refused as a broken export, line 2, column 'sku'",
    ),
    "gzip of 2 GiB of newlines": (
        "lines.csv.gz",
        "items",
        lambda p: make.gz_newlines(p, 2048 * MIB),
        "expands to more than 20,000,001 lines (format.max_rows, and the header)",
    ),
    "zip of 2 GiB of newlines": (
        "lines.zip",
        "items",
        lambda p: make.zip_newlines(p, 2048 * MIB),
        "expands to more than 20,000,001 lines (format.max_rows, and the header)",
    ),
    "xlsx with a shared string of 1 GiB": (
        "string.xlsx",
        "sheet",
        lambda p: make.xlsx_shared_string(p, 1024 * MIB),
        "xl/sharedStrings.xml holds a text of more than 262,144 bytes (format.max_cell_bytes)",
    ),
    "xlsx whose used range reaches XFD8000": (
        "far.xlsx",
        "sheet",
        lambda p: make.xlsx_far_cell(p, "XFD8000"),
        "xl/worksheets/sheet1.xml reaches column XFD (16,384 columns, 0 cells without a "
        "position counted as one row), more than format.max_columns = 1,000: refused as a "
        "broken export, line 8000, column 'XFD'",
    ),
    "xlsx of 3 million cells without r=": (
        "unplaced.xlsx",
        "sheet",
        lambda p: make.xlsx_unplaced_cells(p, 3_000_000),
        "cells without a position counted as one row), more than format.max_columns = 1,000",
    ),
    "xlsx zip bomb of 3 GB": (
        "bomb.xlsx",
        "sheet",
        lambda p: make.xlsx_bomb(p, 3000 * MIB),
        "xl/worksheets/sheet1.xml holds a text of more than 262,144 bytes",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.slow
def test_check_refuses_the_file_in_bounded_memory(home: Path, tmp_path: Path, case: str) -> None:
    name, feed, maker, says = CASES[case]
    hostile = maker(tmp_path / name)
    assert hostile.stat().st_size < 80 * MIB  # small on disk; the cost is in its shape

    run = run_limited(home, "check", str(hostile), "--feed", feed)

    assert run.code == 1, run.output[-2000:]
    refusal = next(t for t in run.output.splitlines() if t.startswith("File-level error:"))
    assert refusal.startswith(f"File-level error: {name}: ")
    assert says in refusal
    assert run.peak_rss < PEAK_RSS
    assert not list((home / "outbox" / "checks" / feed).glob(".*")), "scratch left behind"


@pytest.mark.slow
def test_once_rejects_each_hostile_file_and_goes_on(home: Path) -> None:
    """One pass: every hostile file archived as rejected, the good ones applied, both feeds run."""
    items, sheet = home / "erp" / "items", home / "erp" / "sheet"
    make.csv_wide_header(items / "a_wide.csv", 1_000_000)
    make.csv_blank_lines(items / "b_blank.csv", 8_000_000, columns=11)
    make.gz_newlines(items / "c_lines.csv.gz", 2048 * MIB)
    (items / "d_good.csv").write_text("sku,name\nA1,first\nA2,second\n", encoding="utf-8")
    make.xlsx_far_cell(sheet / "a_far.xlsx", "XFD8000")
    make.xlsx_bomb(sheet / "b_bomb.xlsx", 3000 * MIB)

    run = run_limited(home, "once")

    assert run.peak_rss < PEAK_RSS, run.output[-2000:]
    assert sorted(p.name for p in (items / "rejected").iterdir()) == [
        "a_wide.csv",
        "b_blank.csv",
        "c_lines.csv.gz",
    ]
    assert [p.name for p in (items / "processed").iterdir()] == ["d_good.csv"]
    assert sorted(p.name for p in (sheet / "rejected").iterdir()) == ["a_far.xlsx", "b_bomb.xlsx"]
    rejected = sorted(p.name for p in (home / "archive").glob("*/rejected/*/*/*") if p.is_file())
    assert {"a_wide.csv", "b_blank.csv", "c_lines.csv.gz", "a_far.xlsx", "b_bomb.xlsx"} <= set(
        rejected
    )
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()], "scratch left behind"


def test_a_long_rejected_value_is_a_short_preview_in_the_reports(
    home: Path, tmp_path: Path
) -> None:
    """A 200 000-byte key under max_cell_bytes: each report cell shows 200 characters of it."""
    long_key = "K" * 200_000
    path = tmp_path / "long.csv"
    path.write_text(f"sku,name\n{long_key},\nA2,second\n", encoding="utf-8")

    run = run_limited(home, "check", str(path), "--feed", "items")

    assert run.code == 1, run.output[-2000:]
    report = home / "outbox" / "checks" / "items" / "long.rejected.csv"
    csv.field_size_limit(2**31 - 1)  # as etl.read.formats.csv does: to see the old, whole value
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the row is rejected"
    preview = "K" * 200 + " [cut at 200 of 200,000 characters]"
    for row in rows:
        assert row["Key (part_no)"] == preview
        assert row["Line"] == "2"
    assert report.stat().st_size < 20_000  # the raw line is cut too (etl.read.formats.raw)
    book = openpyxl.load_workbook(report.with_suffix(".xlsx"), read_only=True)
    cells = [c for row in book["Rejected cells"].iter_rows(values_only=True) for c in row]
    assert preview in cells
    assert all(not isinstance(c, str) or len(c) < 2_100 for c in cells)

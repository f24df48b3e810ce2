"""Every cell of a report carries the style its value calls for, however often it recurs.

The workbook sets each combination of styles once and copies it to later cells
(`reports._Cells`). Seeded generated reports (text that Excel would run, long text, control
characters, unicode, empty values, numbers, lists in the summary) are reopened with openpyxl
and each cell is held to the rule stated per cell: text is a string cell aligned to the top,
wrapped when longer than 60 characters, quote-prefixed (style "Normal") when it starts like a
formula; titles and labels are bold; numbers and empty cells have no style.
"""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.cell.cell import Cell

from etl.read.reports import Report, write_reports
from etl.read.validate import REJECTION_SCHEMA

PIECES = ["=1+2", "+46", "-5", "@SUM(A1)", "\tx", "\rx", "a\x0bb", "Å漢€", "plain", "x" * 70]


def _text(rng: random.Random) -> str | None:
    return rng.choice([None, "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3)))])


def _report(rng: random.Random) -> Report:
    rows = rng.randint(1, 40)
    rejections = pl.DataFrame(
        {
            "line": [rng.choice([None, rng.randint(2, 999)]) for _ in range(rows)],
            **{c: [_text(rng) for _ in range(rows)] for c in list(REJECTION_SCHEMA)[1:]},
        },
        schema=REJECTION_SCHEMA,
    )
    summary: dict[str, object] = {
        "File": _text(rng) or "x.csv",
        "Size (bytes)": rng.randint(0, 10**9),
        "Share": 0.5,
        "Lines": [3, 5],
        "Nothing": None,
        "Outcome": _text(rng),
    }
    raw = {line: _text(rng) or "x" for line in range(2, 1000) if rng.random() < 0.5}
    return Report(summary, rejections, raw, ["part_no"])


def _check(cell: Cell, bold: bool, text: bool) -> None:
    where = cell.coordinate
    assert bool(cell.font.b) == bold, where
    if text:
        value = cell.value or ""  # an empty text cell reads back as None
        assert cell.alignment.vertical == "top", where
        assert bool(cell.alignment.wrap_text) == (len(value) > 60), where
        risky = value.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert bool(cell.quotePrefix) == risky, where
        assert cell.style == "Normal", where
    else:  # numbers, the summary's list, and empty cells: no alignment, no prefix
        assert cell.alignment.vertical is None and not cell.alignment.wrap_text, where
        assert not cell.quotePrefix, where


@pytest.mark.parametrize("seed", range(8))
def test_each_cell_has_the_style_its_value_calls_for(seed: int, tmp_path: Path) -> None:
    report = _report(random.Random(seed))
    xlsx, _ = write_reports(report, tmp_path, "x.rejected")
    book = openpyxl.load_workbook(xlsx)
    summary, detail = book["Summary"], book["Rejected cells"]
    # Rows 1-6 the summary (labels bold), 7 empty, 8 the codes' titles (bold), then the codes.
    for row in summary.iter_rows():
        for cell in row:
            bold = cell.row == 8 or (cell.row <= 6 and cell.column == 1)
            # B4: the list; C9 on: a code's meaning (empty for a code without one: text all the same)
            text = isinstance(cell.value, str) and cell.coordinate != "B4"
            text = text or (cell.row >= 9 and cell.column == 3)
            _check(cell, bold, text)
    assert summary["B4"].value == "3, 5" and summary["B2"].value == report.summary["Size (bytes)"]
    for row in detail.iter_rows():
        for cell in row:
            _check(cell, cell.row == 1, isinstance(cell.value, str))
    assert detail.max_row == report.rejections.height + 1

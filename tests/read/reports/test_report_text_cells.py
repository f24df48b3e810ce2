"""Every text cell of a report reopens as the text it was given, as a string cell.

The report sets a text cell's value and type itself (`reports._Cells`), without openpyxl's
value setter, which would read "=1+2" as a formula and "#N/A" as an error. Seeded reports
of text Excel would run or read as an error, control characters, text past Excel's cell
limit and unicode are reopened with openpyxl; each text is held to the rule stated here:
control characters shown as [0x0B], cut at 32,767 characters with an ellipsis, type "s".
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from etl.read.reports import DETAIL_COLUMNS, PREVIEW, Report, write_reports
from etl.read.validate import REJECTION_SCHEMA

PIECES = ["=1+2", "#N/A", "#DIV/0!", "-5", "@x", "a\x0bb\x00", "Å漢€😀", "plain", " edge "]
_LIMIT = 32_767
_CONTROL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))


def _shown(text: str) -> str:
    """The rule: control characters as [0xNN], then cut at Excel's limit with an ellipsis."""
    text = _CONTROL.sub(lambda m: f"[0x{ord(m.group()):02X}]", text)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "\u2026"


@pytest.mark.parametrize("seed", range(4))
def test_each_text_cell_reopens_as_its_text(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    rows = 30
    lines = list(range(2, 2 + rows))
    codes = [_text(rng) for _ in range(rows)]
    raw = {line: _text(rng) for line in lines}
    raw[lines[0]] = "=" + "x\x01" * 20_000  # past the cell limit once its controls are shown
    rejections = pl.DataFrame(
        {
            "line": lines,
            **{c: [_text(rng)[:PREVIEW] for _ in range(rows)] for c in list(REJECTION_SCHEMA)[1:]},
        },
        schema=REJECTION_SCHEMA,
    ).with_columns(pl.Series("code", codes))
    summary: dict[str, object] = {"File": _text(rng), "Outcome": "#N/A"}
    report = Report(summary, rejections, raw, ["part_no"])

    xlsx, _ = write_reports(report, tmp_path, "x.rejected")

    book = openpyxl.load_workbook(xlsx)
    detail = list(book["Rejected cells"].iter_rows(min_row=2))
    shown = rejections.select(c for c, _, _ in DETAIL_COLUMNS if c != "raw")
    for row, (values, cells) in enumerate(zip(shown.iter_rows(), detail, strict=True)):
        given = [*values[1:], raw[lines[row]]]
        for value, cell in zip(given, cells[1:], strict=True):
            assert cell.data_type == "s" and cell.value == _shown(value), cell.coordinate
    assert book["Summary"]["B2"].value == "#N/A" and book["Summary"]["B2"].data_type == "s"

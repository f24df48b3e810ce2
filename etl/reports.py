"""Rejected-row reports for people (XLSX) and machines (CSV).

Cell text that Excel would evaluate (starting with = + - @, tab or CR) is written as plain
text: in XLSX as a string cell with a quote prefix, in CSV with a leading apostrophe. The
XLSX also shows control characters a worksheet cannot hold as [0x0B] and cuts text at
Excel's cell limit; the CSV keeps the value exactly as received.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from etl.messages import CODES

_RISKY = ("=", "+", "-", "@", "\t", "\r")
_CELL_LIMIT = 32_767  # characters Excel keeps in one cell
DETAIL_COLUMNS = (
    ("line", "Line", 8),
    ("key", "Key", 24),
    ("source_column", "Column in file", 22),
    ("field", "Field", 18),
    ("code", "Error code", 16),
    ("message", "What is wrong", 70),
    ("value", "Value as received", 28),
)


def write_reports(
    rejections: pl.DataFrame, summary: Mapping[str, object], folder: Path, stem: str
) -> list[Path]:
    """Write `<stem>.xlsx` and `<stem>.csv` into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    xlsx, csv_path = folder / f"{stem}.xlsx", folder / f"{stem}.csv"
    _write_xlsx(rejections, summary, xlsx)
    _write_csv(rejections, csv_path)
    return [xlsx, csv_path]


def safe_text(value: object) -> object:
    """For CSV: text Excel would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_RISKY):
        return "'" + value
    return value


def _write_csv(rejections: pl.DataFrame, path: Path) -> None:
    temp = path.with_name(f".{path.name}.part")
    # UTF-8 with BOM so Excel opens it with the right characters.
    with temp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([title for _, title, _ in DETAIL_COLUMNS])
        for row in rejections.select([c for c, _, _ in DETAIL_COLUMNS]).iter_rows():
            writer.writerow([safe_text(v) for v in row])
    temp.replace(path)


def _write_xlsx(rejections: pl.DataFrame, summary: Mapping[str, object], path: Path) -> None:
    book = Workbook(write_only=True)
    _summary_sheet(book.create_sheet("Summary"), summary, rejections)
    sheet = book.create_sheet("Rejected cells")
    for index, (_, _, width) in enumerate(DETAIL_COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    last = chr(ord("A") + len(DETAIL_COLUMNS) - 1)
    sheet.auto_filter.ref = f"A1:{last}{rejections.height + 1}"
    sheet.append([_cell(sheet, title, bold=True) for _, title, _ in DETAIL_COLUMNS])
    for row in rejections.select([c for c, _, _ in DETAIL_COLUMNS]).iter_rows():
        sheet.append([_cell(sheet, v) for v in row])
    temp = path.with_name(f".{path.name}.part")
    book.save(temp)
    temp.replace(path)


def _summary_sheet(
    sheet: Worksheet, summary: Mapping[str, object], rejections: pl.DataFrame
) -> None:
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 80
    for label, value in summary.items():
        sheet.append([_cell(sheet, label, bold=True), _cell(sheet, value)])
    sheet.append([])
    sheet.append(
        [
            _cell(sheet, "Error code", bold=True),
            _cell(sheet, "Cells", bold=True),
            _cell(sheet, "Meaning", bold=True),
        ]
    )
    if rejections.height:
        counts = rejections.group_by("code").len().sort("len", "code", descending=[True, False])
        for code, count in counts.iter_rows():
            sheet.append(
                [_cell(sheet, code), _cell(sheet, count), _cell(sheet, CODES.get(code, ""))]
            )


# Shared style objects: openpyxl interns them, but building one per cell costs more than the cell.
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_BOLD = Font(bold=True)


def _cell(sheet: Worksheet, value: object, *, bold: bool = False) -> Cell:
    cell = WriteOnlyCell(sheet, value=None)
    if isinstance(value, str):
        value = _sheet_text(value)
        # Set as a string explicitly: openpyxl would turn "=..." into a formula.
        cell.value = value
        cell.data_type = "s"
        if value.startswith(_RISKY):
            cell.style = "Normal"
            cell.quotePrefix = True
        cell.alignment = _WRAP if len(value) > 60 else _TOP
    elif isinstance(value, Sequence) and not isinstance(value, str):
        cell.value = ", ".join(str(v) for v in value)
    elif value is not None:
        cell.value = value if isinstance(value, int | float) else str(value)
    if bold:
        cell.font = _BOLD
    return cell


def _sheet_text(value: str) -> str:
    """Text a worksheet can hold: control characters shown as [0x0B], cut at Excel's limit."""
    shown = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"[0x{ord(m.group()):02X}]", value)
    if len(shown) > _CELL_LIMIT:
        shown = shown[: _CELL_LIMIT - 1] + "\u2026"
    return shown

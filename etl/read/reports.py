"""Rejected-row reports for people (XLSX) and machines (CSV).

The XLSX has a summary sheet (the file, what happened to it, counts per error code) and a
detail sheet with one row per rejected cell, ending with the record as it was in the file;
the CSV holds the same detail. `run.py check` prints the summary with the same labels.

Cell text that Excel would evaluate (starting with = + - @, tab or CR) is written as plain
text: in XLSX as a string cell with a quote prefix, in CSV with a leading apostrophe. The
XLSX also shows control characters a worksheet cannot hold as [0x0B]. A key or value longer
than PREVIEW characters is shown as its first PREVIEW with a marker, in both: a report is for
reading, and a cell of megabytes repeated on every rejection of its row would make one of
gigabytes. Shorter values are kept exactly as received.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from etl.config.contracts import FeedContract
from etl.models import Merge, Part, place
from etl.read.messages import CODES
from etl.state.atomic import atomic_path

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Alignment, Font
    from openpyxl.styles.cell_style import StyleArray
    from openpyxl.worksheet.worksheet import Worksheet

_RISKY = ("=", "+", "-", "@", "\t", "\r")
_CELL_LIMIT = 32_767  # characters Excel keeps in one cell
PREVIEW = 200  # characters of a long key or value a report shows
# Some messages quote the value they are about ("'...' does not match the pattern"): they are
# cut too, further on, so the words after a short quoted value stay whole.
_PREVIEWS = {"key": PREVIEW, "value": PREVIEW, "message": 5 * PREVIEW}
DETAIL_COLUMNS = (
    ("line", "Line", 8),
    ("key", "Key", 24),  # titled with the key's fields: see detail_columns
    ("source_column", "Column in file", 22),
    ("field", "Field", 18),
    ("code", "Error code", 16),
    ("message", "What is wrong", 70),
    ("value", "Value as received", 28),
    ("raw", "Raw line", 60),
)
PART_COLUMN = ("part", "File in archive", 24)
NOT_COUNTED = "not counted: the file could not be read"
MERGED_ROWS = "Rows merged into an earlier identical row:"  # heads the examples of merged rows

# What happened to the file, as the summary's "Outcome" says it.
ROWS_REJECTED = "Some rows rejected: the other rows were applied"
ROWS_ALL_REJECTED = "Every row rejected: no row was applied"
# Only cells of rows deactivated all the same (etl.read.deactivations.IGNORED): every row applied.
ROWS_IGNORED = "No row rejected: cells of deactivated rows were not sent"
FILE_REJECTED = "Whole file rejected: nothing was applied"
CHECK_ROWS = "Check only, nothing applied: a run would apply the other rows"
CHECK_ALL_ROWS = "Check only, nothing applied: a run would reject every row"
CHECK_FILE = "Check only, nothing applied: a run would reject the whole file"
CHECK_CLEAN = "Check only, nothing applied: a run would reject nothing"
# A check reads a file on this machine: its time is when it was last saved, which says
# nothing of when (or whether) a run received it.
_CHECKS = (CHECK_ROWS, CHECK_ALL_ROWS, CHECK_FILE, CHECK_CLEAN)
RECEIVED_AT, MODIFIED_AT = "Received at", "File modified at"


@dataclass(frozen=True)
class FileFacts:
    """The file a report is about, as it was received."""

    name: str
    size: int
    sha256: str
    received_at: str  # ISO 8601 in UTC: when the file landed on this machine

    @classmethod
    def of(cls, path: Path, sha256: str | None = None) -> FileFacts:
        """Facts of a local file; its modification time is when it was downloaded or saved.

        Neither store keeps the remote modification time on download (the inbox copy is
        written fresh), and the ERP server's clock and time zone are not to be trusted.
        """
        stat = path.stat()
        received = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        return cls(
            path.name,
            stat.st_size,
            sha256 or file_sha256(path),
            received.isoformat(timespec="seconds"),
        )


@dataclass(frozen=True)
class RowCounts:
    """Rows read from a file, and how many of them were applied and refused."""

    read: int
    accepted: int
    rejected: int
    # Rows taken once as an earlier identical row (same_key_rows = "merge_identical"):
    # read = accepted + rejected + merged.
    merged: int = 0
    # Valid rows the file marks inactive (is_active false); None: the contract maps no flag.
    marked: int | None = None


@dataclass(frozen=True)
class Report:
    """Everything one rejected-row report shows."""

    summary: Mapping[str, object]  # label -> value, in order: see `summary`
    rejections: pl.DataFrame  # one row per failed cell, validate.REJECTION_SCHEMA
    raw: Mapping[int, str]  # source line -> the record starting there, as written
    key_fields: Sequence[str]
    parts: tuple[Part, ...] = ()  # a zip of several files: lines are shown per file
    merges: tuple[Merge, ...] = ()  # the first rows that identical rows were merged into


def summary(
    facts: FileFacts,
    contract: FeedContract,
    outcome: str,
    rows: RowCounts | None,
    file_error: str | None = None,
) -> dict[str, object]:
    """The summary's labels and values; `rows` is None when the file could not be read."""
    return {
        "File": facts.name,
        "Feed": contract.name,
        "Contract": str(contract.path),
        "Size (bytes)": facts.size,
        "SHA-256": facts.sha256,
        MODIFIED_AT if outcome in _CHECKS else RECEIVED_AT: facts.received_at,
        "Outcome": outcome,
        "Rows read": rows.read if rows else NOT_COUNTED,
        "Rows accepted": rows.accepted if rows else 0,
        "Rows rejected": rows.rejected if rows else NOT_COUNTED,
        **_merged(contract, rows),
        **({"Rows marked inactive": rows.marked} if rows and rows.marked is not None else {}),
        "File-level error": file_error or "none",
    }


def _merged(contract: FeedContract, rows: RowCounts | None) -> dict[str, object]:
    """The "Rows merged" line, for a contract that merges identical rows (no other can)."""
    if contract.checks.same_key_rows != "merge_identical":
        return {}
    if rows is None:
        return {"Rows merged": NOT_COUNTED}
    said = " (identical rows with the same key, taken once)" if rows.merged else ""
    return {"Rows merged": f"{rows.merged}{said}"}


def merge_lines(report: Report) -> list[tuple[str, str]]:
    """(key, `lines 5, 9 merged into line 3`) for the first rows that others were merged into."""
    return [(m.key, m.describe(report.parts)) for m in report.merges]


def code_counts(rejections: pl.DataFrame) -> list[tuple[str, int]]:
    """Rejected cells per error code, most frequent first."""
    if not rejections.height:
        return []
    counts = rejections.group_by("code").len().sort("len", "code", descending=[True, False])
    return [(code, count) for code, count in counts.iter_rows()]


def summary_lines(report: Report) -> list[str]:
    """The summary as `run.py check` prints it: the sheet's labels and values, then codes."""
    width = max((len(label) for label in report.summary), default=0) + 2
    lines = [f"{label + ':':<{width}}{value}" for label, value in report.summary.items()]
    merges = merge_lines(report)
    if merges:
        lines.append(MERGED_ROWS)
        lines += [f"  {key}: {said}" for key, said in merges]
    counts = code_counts(report.rejections)
    if counts:
        lines.append("Rejected cells per error code:")
        lines += [f"  {code}: {count}" for code, count in counts]
    return lines


def detail_columns(
    key_fields: Sequence[str], parts: tuple[Part, ...] = ()
) -> list[tuple[str, str, int]]:
    """(column, title, width) of the detail; the key's title names the fields it joins.

    A zip of several files gets a first column naming the file in the archive; its Line
    is then the line within that file.
    """
    key_title = f"Key ({' / '.join(key_fields)})" if key_fields else "Key"
    named = [(c, key_title if c == "key" else t, w) for c, t, w in DETAIL_COLUMNS]
    return [PART_COLUMN, *named] if parts else named


def write_reports(report: Report, folder: Path, stem: str) -> list[Path]:
    """Write `<stem>.xlsx` and `<stem>.csv` into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    xlsx, csv_path = folder / f"{stem}.xlsx", folder / f"{stem}.csv"
    _write_xlsx(report, xlsx)
    _write_csv(report, csv_path)
    return [xlsx, csv_path]


def safe_text(value: object) -> object:
    """For CSV: text Excel would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_RISKY):
        return "'" + value
    return value


def _detail_rows(report: Report) -> Iterator[tuple[object, ...]]:
    """The detail's rows: the rejection's columns, then the raw record of its line."""
    columns = [c for c, _, _ in DETAIL_COLUMNS if c != "raw"]
    shown = report.rejections.select(columns).with_columns(
        pl.when(pl.col(c).str.len_chars() > n)
        .then(pl.col(c).str.slice(0, n) + _cut_marker(c, n))
        .otherwise(pl.col(c))
        .alias(c)
        for c, n in _PREVIEWS.items()
    )
    for row in shown.iter_rows():
        line = row[0]
        raw = report.raw.get(line) if isinstance(line, int) else None
        if not report.parts:
            yield (*row, raw)
            continue
        part, own = place(report.parts, line) if isinstance(line, int) else (None, line)
        yield (part, own, *row[1:], raw)


def _cut_marker(column: str, shown: int) -> pl.Expr:
    """' [cut at 200 of 9,437,184 characters]', the count written as people read it."""
    total = pl.col(column).str.len_chars().cast(pl.String)
    grouped = total.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.reverse()
    return pl.concat_str(
        pl.lit(f" [cut at {shown} of "), grouped.str.strip_chars_start(","), pl.lit(" characters]")
    )


def _write_csv(report: Report, path: Path) -> None:
    # UTF-8 with BOM so Excel opens it with the right characters.
    with atomic_path(path) as temp, temp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        columns = detail_columns(report.key_fields, report.parts)
        writer.writerow([title for _, title, _ in columns])
        for row in _detail_rows(report):
            writer.writerow([safe_text(v) for v in row])


def _write_xlsx(report: Report, path: Path) -> None:
    # openpyxl (a tenth of a second) here: most runs and commands write no report.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book, cells = Workbook(write_only=True), _Cells()
    _summary_sheet(book.create_sheet("Summary"), report, cells)
    sheet = book.create_sheet("Rejected cells")
    columns = detail_columns(report.key_fields, report.parts)
    for index, (_, _, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{report.rejections.height + 1}"
    sheet.append([cells(sheet, title, bold=True) for _, title, _ in columns])
    for row in _detail_rows(report):
        sheet.append([cells(sheet, v) for v in row])
    with atomic_path(path) as temp:
        book.save(temp)


def _summary_sheet(sheet: Worksheet, report: Report, cells: _Cells) -> None:
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 80
    for label, value in report.summary.items():
        sheet.append([cells(sheet, label, bold=True), cells(sheet, value)])
    merges = merge_lines(report)
    if merges:
        sheet.append([])
        sheet.append([cells(sheet, MERGED_ROWS, bold=True)])
        for key, said in merges:
            sheet.append([cells(sheet, key), cells(sheet, said)])
    sheet.append([])
    sheet.append(
        [
            cells(sheet, "Error code", bold=True),
            cells(sheet, "Cells", bold=True),
            cells(sheet, "Meaning", bold=True),
        ]
    )
    for code, count in code_counts(report.rejections):
        sheet.append([cells(sheet, code), cells(sheet, count), cells(sheet, CODES.get(code, ""))])


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _styles() -> tuple[Alignment, Alignment, Font]:
    """Wrapped, top-aligned and bold, built once: openpyxl interns them, but building one per
    cell costs more than the cell (made at the first report, see _write_xlsx)."""
    from openpyxl.styles import Alignment, Font

    return Alignment(wrap_text=True, vertical="top"), Alignment(vertical="top"), Font(bold=True)


class _Cells:
    """Makes the cells of one workbook; each combination of styles is set once, then copied.

    Setting a style hashes it to find it in the workbook's list (a quarter of a report's
    time in a profile): the first cell of a combination sets it as usual, so the workbook
    lists the same styles in the same order, and later cells take a copy of its style array,
    as openpyxl copies a cell's style.
    """

    def __init__(self) -> None:
        # Loaded by _write_xlsx, the only maker: taken once here, not at every cell.
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles.cell_style import StyleArray

        self._cell, self._array, self._illegal = WriteOnlyCell, StyleArray, ILLEGAL_CHARACTERS_RE
        self._styles: dict[tuple[bool, bool, bool, bool], StyleArray] = {}

    def __call__(self, sheet: Worksheet, value: object, *, bold: bool = False) -> Cell:
        """A write-only cell of `value`: text as text, aligned to the top, bold if asked."""
        cell = self._cell(sheet, value=None)
        text = long = risky = False
        if isinstance(value, str):
            shown = _sheet_text(value, self._illegal)
            # A string cell, as setting the value and then the type gives (openpyxl would
            # turn "=..." into a formula): the text is already one a worksheet holds, so
            # openpyxl's own check of it (a second scan of every character) is not repeated.
            cell._value = shown  # type: ignore[attr-defined]
            cell.data_type = "s"
            text, long, risky = True, len(shown) > 60, shown.startswith(_RISKY)
        elif isinstance(value, Sequence):
            cell.value = ", ".join(str(v) for v in value)
        elif value is not None:
            cell.value = value if isinstance(value, int | float) else str(value)
        if text or bold:
            self._style(cell, (text, long, risky, bold))
        return cell

    def _style(self, cell: Cell, kind: tuple[bool, bool, bool, bool]) -> None:
        """The style of `kind` (text, long, risky, bold): set on its first cell, then copied."""
        known = self._styles.get(kind)
        if known is not None:
            cell._style = self._array(known)  # type: ignore[attr-defined]
            return
        text, long, risky, bold = kind
        wrap, top, bold_font = _styles()
        if risky:
            cell.style = "Normal"
            cell.quotePrefix = True
        if text:
            cell.alignment = wrap if long else top
        if bold:
            cell.font = bold_font
        self._styles[kind] = self._array(cell._style)  # type: ignore[attr-defined]


def _sheet_text(value: str, illegal: re.Pattern[str]) -> str:
    """Text a worksheet can hold: control characters shown as [0x0B], cut at Excel's limit.

    `illegal`: openpyxl's ILLEGAL_CHARACTERS_RE, the characters it refuses.
    """
    shown = illegal.sub(lambda m: f"[0x{ord(m.group()):02X}]", value)
    if len(shown) > _CELL_LIMIT:
        shown = shown[: _CELL_LIMIT - 1] + "\u2026"
    return shown

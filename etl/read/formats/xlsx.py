"""XLSX reader: every cell as text, every row with the row number Excel shows.

fastexcel (calamine) parses. The sheet is `format.sheet` (a name, or a 0-based index); the
header is row `format.header_row` and the rows above it are skipped, as are the
`format.skip_after_header` rows under it (units), so `_line` is the Excel row number and a
report says "row 7" where Excel shows row 7. A `[format.trailer]` is found among the last
rows and cut off before the header is checked (its cells may lie beyond the named columns);
etl.read.formats.trailer checks its count and sum as it does for CSV.

Cells arrive as the text the ERP meant, so the contract's dialect reads them as it reads CSV:
- Numbers: the digits, never an exponent (EAN 7350000000016, 12.5; text "00123" stays text).
  fastexcel rounds a float to 9 decimals, which drops binary noise (79.19999999999999 ->
  79.2; below 0.000000001 a value reads "0").
- The decimal rule: a numeric cell holds a number, not text, so it has no separator of its
  own; it is written with the contract's `decimal`, as Excel in that locale shows it
  (1.5 typed as 1,5 in a Swedish Excel -> "1,5" under `decimal = ","`). Text cells are kept
  as typed, so a text "1.500" in a decimal-comma feed is still refused, never guessed.
- Dates: a date cell holds a moment, not text, so it is never read back through a format
  that could take it another way. calamine writes it "2026-11-20 00:00:00" (a time of day
  when it has one); a second read asking for date-times tells it from a text cell typed so
  (calamine gives null for text), and a text cell always stays as typed, to follow the
  contract's formats like any other. A date cell in a column that [columns] maps to date or
  date-time fields is written in the first of those fields' formats (without an offset)
  that every one of them reads back as exactly that moment: `03/04/2026` for 3 April under
  `%d/%m/%Y`, never under a `%m/%d/%Y` that one of the fields reads. When none does (a time
  of day for a date field, seconds a format has no place for, a year `%y` cannot carry) it
  keeps calamine's text, which the field then refuses, quoting what the cell holds. In any
  other column a midnight date cell is written with `format.date_format` (the first, if it
  lists several), as text for a text field.
- A formula gives its cached value; one never calculated (written by a library) and an error
  cell (#N/A) read as empty. Booleans read "true"/"false".
Rows with no value in any cell are skipped (later rows keep their numbers); a header cell
that is empty above data, or a name used twice, is a SchemaMismatch.

Hostile files. An XLSX is a zip of XML. calamine (quick-xml) expands no DTD entities, but it
reads a sheet into one dense grid from the first to the last used row and column: a 5 KB file
with cells at A1 and XFD1048576 asks for 17 billion cells and aborts the whole process
(measured: a Rust allocation failure, not an exception). So before calamine sees the file,
every member is decompressed as a stream (at most `max_expanded_bytes` in all, whatever the
zip headers declare) and its cell and row positions are scanned; a grid of more than
`max_expanded_bytes / CELL_BYTES` cells is refused, and so is one reaching past
`format.max_columns` or `format.max_rows`. Cells without a position attribute (no common
writer omits it) are counted as if all of them could widen one row. calamine also holds a
text node whole (a shared string, padding between rows): a stretch of XML between two tags
longer than `format.max_cell_bytes` is refused while it streams by, so a 1 MB workbook
holding a 1 GiB string, or a sheet padded with gigabytes of spaces, never reaches it.
"""

from __future__ import annotations

import datetime as dt
import string
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import fastexcel
import polars as pl

from etl.config.contract_format import FormatSpec, TrailerSpec, formats_of
from etl.config.contracts import FeedContract
from etl.dates import has_offset, to_date, to_datetime
from etl.errors import ParseError, SchemaMismatch
from etl.models import LINE, ParsedFile
from etl.read.formats import trailer
from etl.read.formats.cells import clean_cells

CELL_BYTES = 32  # one calamine `Data` value per cell of the grid
BLOCK = 16 * 1024 * 1024
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
_DATE_CELL = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"  # how calamine writes a date cell
_CALAMINE = "%Y-%m-%d %H:%M:%S"
# The date and date-time fields an ERP column feeds: each as (with a time, its formats).
DatedColumns = Mapping[str, Sequence[tuple[bool, tuple[str, ...]]]]
_NAME = r"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix
_VALUE = r"""\s*=\s*(?:"[^"]*"|'[^']*')"""
# Any attribute but a plain `r`; calamine also ignores an `r` written with an entity in it.
_NOT_R = (
    rf"""\s+(?:[^\sr=/>"'][^\s=/>"']*{_VALUE}|r[^\s=/>"']+{_VALUE}"""
    r"""|r\s*=\s*(?:"[^"]*&[^"]*"|'[^']*&[^']*'))"""
)
_UNPLACED_CELL = rf"<{_NAME}c(?:{_NOT_R})*\s*>"  # a <c> calamine places by counting
_UNPLACED_ROW = rf"<{_NAME}row(?:{_NOT_R})*\s*>"
_POSITION = r"""\sr\s*=\s*["'][A-Za-z]*[0-9]*["']"""


def dated_columns(contract: FeedContract) -> DatedColumns:
    """The date and date-time fields each ERP column feeds through [columns], for read_xlsx."""
    fields = contract.entity.fields()
    dated: dict[str, list[tuple[bool, tuple[str, ...]]]] = {}
    for erp, field in contract.column_fields():
        dtype = fields[field]
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            reads = (isinstance(dtype, pl.Datetime), contract.format.time_formats(field, dtype))
            dated.setdefault(erp, []).append(reads)
    return dated


def read_xlsx(path: Path, fmt: FormatSpec, dated: DatedColumns | None = None) -> ParsedFile:
    """Read one sheet as strings; row `header_row` names the columns.

    `dated` (see `dated_columns`) says how the fields a column feeds read its date cells.
    """
    _check_archive(path, fmt)
    with _calamine(path):
        reader = fastexcel.read_excel(path)
        sheet = _sheet_name(reader.sheet_names, fmt.sheet, path)
        raw, where = _load(reader, sheet, fmt.header_row)
    loaded, found = raw.height, None
    if fmt.trailer is not None:
        raw, found = _cut_trailer(raw, where, fmt.trailer, reader, sheet, fmt, path)
    header, frame = _split_header(raw, where, path, fmt, sheet)
    skipped = 1 + fmt.skip_after_header  # the header row and the rows under it that are not data
    if fmt.decimal != ".":
        frame = _numbers_in_dialect(frame, where, reader, sheet, fmt, path, skipped, loaded)
    columns = tuple(header[c] for c in frame.columns)
    real = _date_cells(frame, where, reader, sheet, fmt, path, skipped, loaded)
    real = {header[c]: cells for c, cells in real.items()}
    frame = _dates_as_read(frame.rename(header), real, dated or {}, formats_of(fmt.date_format)[0])
    first = fmt.header_row + skipped
    frame = frame.with_columns(
        pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(LINE)
    )
    if columns:
        blank = pl.all_horizontal(pl.col(c).str.strip_chars().fill_null("") == "" for c in columns)
        frame = frame.filter(~blank)
    frame = clean_cells(frame, columns, fmt.null_values)
    if found is not None and fmt.trailer is not None:
        trailer.check(path.name, found, fmt.trailer, frame, fmt)
    return ParsedFile(path, frame, columns)


@contextmanager
def _calamine(path: Path) -> Iterator[None]:
    """The one place fastexcel's exceptions become ours."""
    try:
        yield
    except fastexcel.FastExcelError as exc:
        reason = " ".join(str(exc).split("\n")[0].split())
        raise ParseError(f"{path.name}: not readable as an XLSX workbook: {reason}") from exc


def _load(
    reader: fastexcel.ExcelReader, sheet: str, header_row: int
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The header row and every row below it as text, and each column's sheet index."""
    try:
        loaded = reader.load_sheet(
            sheet, header_row=None, skip_rows=header_row - 1, dtypes="string"
        )
    except fastexcel.InvalidParametersError as exc:
        if "too many rows skipped" not in str(exc).lower():
            raise
        return pl.DataFrame(), {}  # the sheet ends above the header row
    where = {c.name: c.absolute_index for c in loaded.available_columns()}
    return loaded.to_polars(), where


def _sheet_name(names: list[str], wanted: str | int, path: Path) -> str:
    """The sheet the contract names, or a ParseError listing the ones there are."""
    if isinstance(wanted, int) and 0 <= wanted < len(names):
        return names[wanted]
    if isinstance(wanted, str) and wanted in names:
        return wanted
    what = f"no sheet {wanted!r}" if isinstance(wanted, str) else f"no sheet at index {wanted}"
    listed = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names)) or "none"
    raise ParseError(f"{path.name}: {what} (format.sheet); the workbook has {listed}")


def _split_header(
    raw: pl.DataFrame, where: dict[str, int], path: Path, fmt: FormatSpec, sheet: str
) -> tuple[dict[str, str], pl.DataFrame]:
    """Header names by raw column, and the data rows; unnamed empty columns are dropped."""
    row = fmt.header_row
    names = [(raw[c][0] if raw.height else None) or "" for c in raw.columns]
    if not any(n.strip() for n in names):
        raise SchemaMismatch(
            f"{path.name}: row {row} of sheet {sheet!r} is empty, so there is no header "
            "(check format.header_row and format.sheet)",
            line=row,
        )
    data = raw.slice(1 + fmt.skip_after_header)
    filled = data.select((pl.all().str.strip_chars().fill_null("") != "").any()).row(0)
    header: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, name, used in zip(raw.columns, names, filled, strict=True):
        letter = _letter(where[column])
        if not name.strip():
            if used:
                raise SchemaMismatch(
                    f"{path.name}: column {letter} has values but no name in header row {row}",
                    line=row,
                )
            continue
        if name in seen:
            raise SchemaMismatch(
                f"{path.name}: the header names a column twice ({name!r} in columns "
                f"{seen[name]} and {letter})",
                line=row,
                column=name,
            )
        seen[name] = letter
        header[column] = name
    return header, data.select(list(header))


def _cut_trailer(
    raw: pl.DataFrame,
    where: dict[str, int],
    spec: TrailerSpec,
    reader: fastexcel.ExcelReader,
    sheet: str,
    fmt: FormatSpec,
    path: Path,
) -> tuple[pl.DataFrame, trailer.Trailer | None]:
    """The rows above the trailer, and the trailer; Truncated when it is required and absent.

    A row's text, for `pattern`, is its cells from column A joined by `format.delimiter`.
    """
    first = 1 + fmt.skip_after_header
    rows = pl.DataFrame()
    if raw.height > first:
        filled = pl.any_horizontal(
            pl.col(c).str.strip_chars().fill_null("") != "" for c in raw.columns
        )
        rows = raw.with_row_index("_at").slice(first).filter(filled)
        rows = rows.tail(spec.lines or trailer.WINDOW)
    fields = _row_fields(rows.drop("_at", strict=False), where)
    at = trailer.start([fmt.delimiter.join(f) for f in fields], spec)
    if at is None:
        if spec.required:
            raise trailer.missing(path.name, spec, fmt.header_row + max(raw.height - 1, 0))
        return raw, None
    index = int(rows["_at"][at])
    if fmt.decimal != ".":  # the count and the sum are read in the file's dialect too
        row = _numbers_in_dialect(
            raw.slice(index, 1), where, reader, sheet, fmt, path, index, raw.height
        )
        fields[at] = _row_fields(row, where)[0]
    return raw.head(index), trailer.Trailer(fmt.header_row + index, fields[at])


def _row_fields(rows: pl.DataFrame, where: dict[str, int]) -> list[tuple[str, ...]]:
    """Each row's cells in sheet order from column A ("" where empty), none after the last."""
    width = max(where.values(), default=-1) + 1
    found = []
    for row in rows.iter_rows(named=True):
        cells = [""] * width
        for column, value in row.items():
            cells[where[column]] = (value or "").strip()
        while cells and not cells[-1]:
            cells.pop()
        found.append(tuple(cells))
    return found


def _numbers_in_dialect(
    frame: pl.DataFrame,
    where: dict[str, int],
    reader: fastexcel.ExcelReader,
    sheet: str,
    fmt: FormatSpec,
    path: Path,
    offset: int,
    loaded: int,
) -> pl.DataFrame:
    """Write the decimal point of numeric cells as the contract's separator; text stays.

    Only columns with a "." anywhere are looked at again. A second read asking for booleans
    tells a numeric cell from text: calamine gives a boolean for a number and null for text.
    `frame` holds the rows from `offset` on (0: the header row) of the `loaded` rows read.
    """
    dotted = frame.select(pl.all().str.contains(".", literal=True).any()).row(0, named=True)
    wanted = [c for c, has in dotted.items() if has]
    if not wanted:
        return frame
    kinds = _read_again(reader, sheet, fmt, path, [where[c] for c in wanted], "boolean", loaded)
    kinds = kinds.slice(offset, frame.height)
    numeric = dict(zip(wanted, kinds.columns, strict=True))
    return frame.with_columns(
        pl.when(kinds[numeric[c]].is_not_null())
        .then(pl.col(c).str.replace(".", fmt.decimal, literal=True))
        .otherwise(pl.col(c))
        .alias(c)
        for c in wanted
    )


def _read_again(
    reader: fastexcel.ExcelReader,
    sheet: str,
    fmt: FormatSpec,
    path: Path,
    columns: list[int],
    dtypes: Literal["boolean", "datetime"],
    loaded: int,
) -> pl.DataFrame:
    """`columns` (absolute sheet indexes) read a second time as `dtypes`, every loaded row.

    calamine gives a value of that type where the cell has one and null where it holds text,
    which is how a typed cell is told from text that looks the same. A sheet that reads to
    another number of rows the second time is being written: refused.
    """
    with _calamine(path):
        kinds = reader.load_sheet(
            sheet,
            header_row=None,
            skip_rows=fmt.header_row - 1,
            dtypes=dtypes,
            use_columns=columns,
        ).to_polars()
    if kinds.height != loaded:
        raise ParseError(f"{path.name}: the sheet read differently twice; is it being written?")
    return kinds


def _date_cells(
    frame: pl.DataFrame,
    where: dict[str, int],
    reader: fastexcel.ExcelReader,
    sheet: str,
    fmt: FormatSpec,
    path: Path,
    offset: int,
    loaded: int,
) -> dict[str, pl.Series]:
    """For each column with text shaped like calamine's dates, which cells are real dates.

    Only such columns are read again, asking for date-times: calamine gives one for a date
    cell (and for a number, whose text has another shape) and null for text. `frame` holds
    the rows from `offset` on of the `loaded` rows read, as in `_numbers_in_dialect`.
    """
    if not frame.height:
        return {}
    found = frame.select(pl.col(c).str.contains(_DATE_CELL).any() for c in frame.columns).row(0)
    shaped = [c for c, has in zip(frame.columns, found, strict=True) if has]
    if not shaped:
        return {}
    kinds = _read_again(reader, sheet, fmt, path, [where[c] for c in shaped], "datetime", loaded)
    kinds = kinds.slice(offset, frame.height)
    return {
        c: kinds[k].is_not_null() & frame[c].str.contains(_DATE_CELL)
        for c, k in zip(shaped, kinds.columns, strict=True)
    }


def _dates_as_read(
    frame: pl.DataFrame, real: dict[str, pl.Series], dated: DatedColumns, date_format: str
) -> pl.DataFrame:
    """Each real date cell written so the fields its column feeds read that very moment."""
    return frame.with_columns(
        _written(pl.col(c), pl.lit(cells), dated.get(c, ()), date_format).alias(c)
        for c, cells in real.items()
    )


def _written(
    text: pl.Expr,
    real: pl.Expr,
    reads: Sequence[tuple[bool, tuple[str, ...]]],
    date_format: str,
) -> pl.Expr:
    """A column's text with its real date cells rewritten; see the module docstring."""
    moment = text.str.to_datetime(_CALAMINE, time_unit="us", strict=False)
    midnight = moment.dt.time() == dt.time()
    if not reads:  # text, or a field read from it by [derive]: as a date is usually written
        return pl.when(real & midnight).then(moment.dt.strftime(date_format)).otherwise(text)
    tried = dict.fromkeys(f for _, formats in reads for f in formats if not has_offset(f))
    chosen = text  # no format writes it back exactly: the field refuses calamine's text
    for fmt in reversed(tried):
        written = moment.dt.strftime(fmt)
        same = pl.all_horizontal(_reads_back(written, moment, r) for r in reads)
        chosen = pl.when(real & same).then(written).otherwise(chosen)
    return chosen


def _reads_back(written: pl.Expr, moment: pl.Expr, read: tuple[bool, tuple[str, ...]]) -> pl.Expr:
    """Whether a field that reads `read` takes `written` as `moment` (a wall-clock time)."""
    with_time, formats = read
    if with_time:
        kind = pl.Datetime("us", "UTC")
        return to_datetime(written, formats, "UTC", kind) == moment.dt.replace_time_zone("UTC")
    at_midnight = moment.dt.time() == dt.time()
    return at_midnight & (to_date(written, formats) == moment.dt.date())


def _letter(index: int) -> str:
    """Excel column letters for a 0-based column index (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    """1-based column number of Excel column letters (A -> 1, XFD -> 16384)."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


# ---- hostile content: bound what calamine will allocate before it runs ----


@dataclass
class _Extent:
    """Largest row and column any position names, and cells or rows placed by counting."""

    row: int = 0
    column: int = 0
    unplaced_cells: int = 0
    unplaced_rows: int = 0

    def cells(self) -> int:
        """An upper bound of the grid calamine builds if this member is a sheet."""
        return (self.row + self.unplaced_rows + 1) * (self.column + self.unplaced_cells + 1)


def _check_archive(path: Path, fmt: FormatSpec) -> None:
    """A readable zip whose content, and the grid its sheets span, fit the contract's bounds."""
    limit = fmt.max_expanded_bytes
    with path.open("rb") as handle:
        if handle.read(len(_OLE2)) == _OLE2:
            raise ParseError(
                f"{path.name}: not an XLSX workbook but an OLE2 file (an old .xls, or a "
                "password-protected workbook); save it as .xlsx without a password"
            )
        try:
            members = zipfile.ZipFile(handle).infolist()
            declared = sum(m.file_size for m in members)
            if declared > limit:
                raise ParseError(
                    f"{path.name}: declares {declared} bytes expanded, over "
                    f"format.max_expanded_bytes = {limit}; refused as hostile"
                )
            _scan(handle, members, fmt, path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error) as exc:
            raise ParseError(
                f"{path.name}: not an XLSX workbook (not a readable zip: {exc})"
            ) from exc


def _scan(handle: BinaryIO, members: list[zipfile.ZipInfo], fmt: FormatSpec, path: Path) -> None:
    """Expand every member as calamine will (never past the bytes allowed in all); bound its grid."""
    limit, expanded = fmt.max_expanded_bytes, 0
    for member in members:
        extent, tail, cells = _Extent(), b"", False
        text_run = _TextRun(fmt.max_cell_bytes, path, member.filename)
        for number, block in enumerate(_expand(handle, member, path)):
            if not number and block.startswith(_UTF16):  # the scan below reads UTF-8 only
                raise ParseError(f"{path.name}: {member.filename} is UTF-16 XML; refused")
            expanded += len(block)
            if expanded > limit:
                raise ParseError(
                    f"{path.name}: expands beyond format.max_expanded_bytes = {limit} "
                    "(whatever its zip headers declare); refused as hostile"
                )
            if member.filename.endswith(".xml"):
                text_run.feed(block)
            text = tail + block
            cut = text.rfind(b"<")  # an element cut at the block's edge waits for the next
            text, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
            # calamine takes cells from <sheetData> only; a theme's r="50000" is no row.
            cells = cells or b"sheetData" in text
            if cells:
                _measure(text.decode("utf-8", "replace"), extent)
        if cells or b"sheetData" in tail:
            _measure(tail.decode("utf-8", "replace"), extent)
        if extent.cells() * CELL_BYTES > limit:
            raise ParseError(
                f"{path.name}: {member.filename} spans up to {extent.cells()} cells (rows to "
                f"{extent.row + extent.unplaced_rows}, columns to "
                f"{extent.column + extent.unplaced_cells}), more than format.max_expanded_bytes "
                f"= {limit} holds; refused as hostile"
            )
        _refuse_wide_or_long(extent, fmt, path, member.filename)


def _refuse_wide_or_long(extent: _Extent, fmt: FormatSpec, path: Path, name: str) -> None:
    """ParseError when a sheet reaches past `max_columns` or `max_rows`, placed or counted."""
    columns = extent.column + extent.unplaced_cells
    if columns > fmt.max_columns:
        raise ParseError(
            f"{path.name}: {name} reaches column {_letter(columns - 1)} ({columns:,} columns, "
            f"{extent.unplaced_cells:,} cells without a position counted as one row), more "
            f"than format.max_columns = {fmt.max_columns:,}: refused as a broken export",
            line=extent.row or None,
            column=_letter(columns - 1),
        )
    rows = extent.row + extent.unplaced_rows
    if rows > fmt.max_rows:
        raise ParseError(
            f"{path.name}: {name} reaches row {rows:,}, more than format.max_rows = "
            f"{fmt.max_rows:,}: refused as a broken export",
            line=fmt.max_rows + 1,
        )


class _TextRun:
    """The longest stretch of a member's XML between two `<`: no cell's text is longer.

    calamine holds a text node (a shared string, a cell value, padding between rows) whole,
    so a 1 GiB string in a 1 MB workbook costs a gigabyte. A stretch is measured only where
    a window of half the bound holds no `<` at all: a normal sheet costs a few `find` calls
    per block, never a look at every tag.
    """

    def __init__(self, limit: int, path: Path, name: str) -> None:
        self._limit, self._path, self._name = limit, path, name
        self._open = 0  # bytes since the last `<` of the blocks before

    def feed(self, block: bytes) -> None:
        """Measure the next block; ParseError when a stretch passes the bound."""
        first = block.find(b"<")
        if first < 0:
            self._check(self._open + len(block))
            self._open += len(block)
            return
        self._check(self._open + first)
        last = block.rfind(b"<")
        step = max(self._limit // 2, 1)
        for at in range(first, last, step):
            if block.find(b"<", at, at + step) < 0:
                self._check(block.find(b"<", at) - block.rfind(b"<", 0, at) - 1)
        self._open = len(block) - last - 1

    def _check(self, length: int) -> None:
        if length > self._limit:
            raise ParseError(
                f"{self._path.name}: {self._name} holds a text of more than {self._limit:,} "
                "bytes (format.max_cell_bytes): refused as a broken export"
            )


def _expand(handle: BinaryIO, member: zipfile.ZipInfo, path: Path) -> Iterator[bytes]:
    """A member's bytes as calamine's zip reader sees them, in blocks.

    Not through `zipfile.open`: that stops at the size the headers declare, while calamine
    inflates the whole stream, so a lying header would hide the rest of a sheet from the scan.
    """
    if member.flag_bits & 0x1:
        raise ParseError(f"{path.name}: {member.filename} is encrypted; refused")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ParseError(
            f"{path.name}: {member.filename} uses zip method {member.compress_type}, "
            "which Excel never writes; refused"
        )
    handle.seek(member.header_offset)
    local = handle.read(30)
    if local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {member.filename}")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    handle.seek(member.header_offset + 30 + name_length + extra_length)
    left = member.compress_size
    inflate = zlib.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED else None
    while left > 0 and not (inflate and inflate.eof):
        raw = handle.read(min(left, BLOCK))
        if not raw:
            raise zipfile.BadZipFile(f"{member.filename} is cut short")
        left -= len(raw)
        if inflate is None:
            yield raw
            continue
        block = inflate.decompress(raw, BLOCK)
        while block:  # one compressed block may expand a thousandfold: hand it out in pieces
            yield block
            block = inflate.decompress(inflate.unconsumed_tail, BLOCK)


def _measure(text: str, extent: _Extent) -> None:
    """Grow `extent` by the positions, and the unpositioned cells and rows, in a block of XML."""
    if not text:
        return
    block = pl.Series([text])
    extent.unplaced_cells += block.str.count_matches(_UNPLACED_CELL).item()
    extent.unplaced_rows += block.str.count_matches(_UNPLACED_ROW).item()
    found = block.str.extract_all(_POSITION).explode().drop_nulls()
    if not found.len():
        return
    # ' r = "AB12"' -> 'AB12'; string trims, as regex groups over a million cells cost more.
    value = found.str.strip_chars_start(" \t\r\n").str.slice(1).str.strip_chars(" \t\r\n=\"'")
    digits = value.str.strip_chars_start(string.ascii_letters)
    letters = value.str.strip_chars_end(string.digits).unique().to_list()
    width = digits.str.len_bytes().max()
    # More than 18 digits do not fit the cast; no sheet has such rows: count them as huge.
    row = (
        10**width
        if isinstance(width, int) and width > 18
        else digits.cast(pl.Int64, strict=False).max()
    )
    extent.row = max(extent.row, row if isinstance(row, int) else 0)
    extent.column = max([extent.column, *(_column_number(s) for s in letters)])

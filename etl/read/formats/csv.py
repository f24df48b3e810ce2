"""CSV reader: every cell as text, every row with its physical source line number.

polars parses, but it pads a row with too few fields with nulls and refuses one with too
many without saying where. So the fields are counted too: one `bytes.count` of the
delimiter over the data says whether every record had as many fields as the header;
only when it does not (or polars gave up) is the file walked with the csv module, once:
a record of another width is a rejected row, not a refused file, see etl.read.formats.csv_ragged.
Under `extra_empty_fields = "ignore"` polars cuts long records unseen, so the total proves
the widths only when no record is short either (no empty last cell); otherwise the walk runs.
A header that more records disagree with than agree is refused (a broken header, not rows).
Blank lines (and lines of spaces, and a last line of Ctrl-Z) are skipped; they still count
for the line numbers.

A line longer than `format.max_line_bytes` is refused as hostile before polars sees it
(polars would buffer it whole). Finding one costs almost nothing: from the start of a line,
the last newline within the next `max_line_bytes + 1` bytes is searched for backwards, so a
normal file is crossed in a few jumps of about that size, never byte by byte.

Shapes that cost memory out of proportion to the file's size (a header of a million
fields, millions of blank lines, cells of megabytes) are refused by etl.read.formats.csv_bounds
before polars pays for them.

Dialects the contract declares (title lines, a units row, a sniffed delimiter, escaped
quotes, a trailer) are made standard CSV first, by etl.read.formats.csv_dialect; a trailer's
count and control sum are checked on the rows read, by etl.read.formats.trailer.
"""

from __future__ import annotations

import csv
import mmap
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError, SchemaMismatch
from etl.models import LINE, RAGGED_SCHEMA, ParsedFile
from etl.read.formats import trailer
from etl.read.formats.cells import clean_cells
from etl.read.formats.csv_bounds import (
    Counts,
    count_data,
    refuse_big_cells,
    refuse_many_lines,
    refuse_wide_header,
)
from etl.read.formats.csv_dialect import Head, Standard, lf_lines, standard
from etl.read.formats.csv_ragged import Walk, walk
from etl.read.formats.text import as_utf8

# The slow walk must not fail where polars read fine: no limit on a field's size.
csv.field_size_limit(2**31 - 1)
_BLOCK = 1 << 24


@dataclass(frozen=True)
class Prepared:
    """A file made standard UTF-8 CSV on disk (`plain.utf8`), with what was counted in it."""

    plain: Standard
    counts: Counts


@contextmanager
def prepared(path: Path, fmt: FormatSpec, scratch: Path) -> Iterator[Prepared]:
    """The file as standard UTF-8 CSV, checked for hostile shapes; scratch copies go after."""
    utf8 = as_utf8(path, fmt.encoding, scratch, fallback=fmt.fallback_encoding)
    made = [utf8] if utf8 != path else []  # scratch copies of ours, removed at the end
    try:
        utf8 = lf_lines(path, utf8, scratch, made)
        _refuse_long_lines(path, utf8, fmt.max_line_bytes)
        plain = standard(path, utf8, fmt, scratch, made)
        refuse_wide_header(path, plain.head, plain.fmt)
        counts = count_data(plain.utf8, plain.head, plain.fmt)
        refuse_many_lines(path, plain.utf8, plain.head, plain.fmt, counts)
        yield Prepared(plain, counts)
    finally:
        for copy in made:
            copy.unlink(missing_ok=True)


def read_csv(path: Path, fmt: FormatSpec, scratch: Path) -> ParsedFile:
    """Read a delimited file as strings; the header row names the columns."""
    with prepared(path, fmt, scratch) as ready:
        plain, counts = ready.plain, ready.counts
        found, head = plain.trailer, plain.head
        frame, columns, ragged = _read(path, plain.utf8, head, plain.fmt, counts)
    refuse_big_cells(path, frame, columns, fmt)
    # One piece per column: polars parses in pieces (about 80 per million rows) and the line
    # numbers are one, so the first select over both (the mapping) would copy every cell's
    # 16-byte view while the parse's own pieces are still held: at 1M rows 170 MB more.
    frame = frame.rechunk()
    frame = clean_cells(frame, columns, fmt.null_values)
    if columns:  # after cleaning: a row of blanks is as blank as an empty line
        blank = pl.all_horizontal(pl.col(c).is_null() for c in columns)
        if frame.select(blank.any()).item():
            frame = frame.filter(~blank)
    if found is not None and fmt.trailer is not None:
        at = trailer.Trailer(head.data_line + counts.newlines, found.fields)
        trailer.check(path.name, at, fmt.trailer, frame, fmt, broken=ragged)
    if ragged.height:
        # Counted and summed by the trailer above, as records; read by nobody after.
        frame = frame.filter(~pl.col(LINE).is_in(ragged[LINE].implode()))
    return ParsedFile(path, frame, columns, ragged=ragged)


def _read(
    path: Path, utf8: Path, head: Head, fmt: FormatSpec, counts: Counts
) -> tuple[pl.DataFrame, tuple[str, ...], pl.DataFrame]:
    """Parse the data and number its lines; the records of another width than the header's
    are found with their lines (etl.read.formats.csv_ragged) and returned apart, as ParsedFile.ragged.
    """
    frame, walked = _parsed(path, utf8, head, fmt)
    columns = tuple(frame.columns)
    doubled = [c for c in columns if "_duplicated_" in c]
    if doubled:
        name = doubled[0].split("_duplicated_")[0]
        raise SchemaMismatch(f"{path.name}: the header names a column twice ({name!r})")
    if walked is None and not _widths_agree(frame, columns, counts, fmt):
        walked = walk(utf8, fmt, head, len(columns))
        if walked.malformed:
            line, problem = walked.malformed
            raise ParseError(f"{path.name}: {problem}", line=line)
    if walked is not None:
        _refuse_outvoted_header(path, head, walked)
    if walked is None:
        lines = _line_numbers(frame, head.data_line, quoted=counts.quotes > 0)
        return frame.with_columns(lines), columns, pl.DataFrame(schema=RAGGED_SCHEMA)
    numbered = walked.numbered(frame)
    if numbered is None:
        raise ParseError(
            f"{path.name}: not readable as CSV with delimiter {fmt.delimiter!r}: polars and "
            "the csv module do not count the same records"
        )
    return numbered, columns, walked.ragged


def _parsed(
    path: Path, utf8: Path, head: Head, fmt: FormatSpec
) -> tuple[pl.DataFrame, Walk | None]:
    """polars' frame; and the walk, when polars refused a record longer than the header."""
    try:
        return _parse(utf8, head, fmt, truncate=fmt.extra_empty_fields == "ignore"), None
    except (pl.exceptions.PolarsError, OSError) as exc:
        # A record longer than the header, or no CSV at all: the walk tells which.
        walked = walk(utf8, fmt, head, len(head.fields)) if utf8.exists() else None
        if walked is None or walked.malformed or not walked.ragged.height:
            raise _csv_error(path, utf8, fmt, exc, walked) from exc
    try:
        return _parse(utf8, head, fmt, truncate=True), walked
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _csv_error(path, utf8, fmt, exc, None) from exc


def _refuse_outvoted_header(path: Path, head: Head, walked: Walk) -> None:
    """ParseError when more rows share another width than the header's (see Walk.outvoted).

    Read against such a header every good row would be a rejected row, its key unread, and
    the run would hold every removal: approved, that deactivates rows the file carries.
    """
    outvoted = walked.outvoted()
    if outvoted is None:
        return
    width, rows, records = outvoted
    hint = ""
    if len(head.fields) > width and not any(f.strip() for f in head.fields[width:]):
        hint = " (its last field is empty: a trailing delimiter on the header line)"
    elif len(head.fields) < width:
        hint = " (a column missing from the header?)"
    raise ParseError(
        f"{path.name}: the header on line {head.line} has {len(head.fields)} fields, but most "
        f"rows have {width} ({rows} of {records}): the header is off, not the rows{hint}; "
        "no row was read, fix the export",
        line=head.line,
    )


def _refuse_long_lines(path: Path, utf8: Path, limit: int) -> None:
    """ParseError naming the first line longer than `limit` bytes (its newline not counted)."""
    with utf8.open("rb") as handle:
        size = utf8.stat().st_size
        if size <= limit:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            start = 0  # a line starts here; bytes beyond `start + limit` exist
            while start + limit < size:
                newline = view.rfind(b"\n", start, start + limit + 1)
                if newline < 0:
                    line = 1 + sum(
                        view[at : min(at + _BLOCK, start)].count(b"\n")
                        for at in range(0, start, _BLOCK)
                    )
                    raise ParseError(
                        f"{path.name}: a line longer than {limit:,} bytes "
                        "(format.max_line_bytes): refused as hostile, not parsed",
                        line=line,
                    )
                start = newline + 1


# ---- the data ----


def _parse(utf8: Path, head: Head, fmt: FormatSpec, *, truncate: bool) -> pl.DataFrame:
    """The data as polars reads it: every cell as text; with `truncate`, long records cut."""
    # No null_values here: cells are trimmed first, then matched (see clean_cells).
    return pl.read_csv(
        utf8,
        separator=fmt.delimiter,
        quote_char=fmt.quote,
        has_header=True,
        skip_lines=head.line - 1,  # physical lines, as header_row counts them
        skip_rows_after_header=fmt.skip_after_header,
        infer_schema=False,
        raise_if_empty=False,
        # polars drops extra fields unseen: the field counts are checked after.
        truncate_ragged_lines=truncate,
        glob=False,  # the path is a file's name: "products_[1].csv" is not a pattern
    )


def _csv_error(
    path: Path, utf8: Path, fmt: FormatSpec, exc: Exception, walked: Walk | None
) -> ParseError:
    """polars' message is long and has no usable position: keep its reason, find the line."""
    text = str(exc)
    reason = re.search(r"Original error: `+\s*(.*?)\s*`+", text, flags=re.S)
    detail = " ".join((reason.group(1) if reason else text.splitlines()[0]).split())
    if walked is not None and walked.malformed:
        line, detail = walked.malformed
    else:
        line = None
        offset = re.search(r"offset in the file is (\d+) bytes", text)
        if offset and utf8.exists():
            with utf8.open("rb") as handle:
                line = handle.read(int(offset.group(1))).count(b"\n") + 1
    return ParseError(
        f"{path.name}: not readable as CSV with delimiter {fmt.delimiter!r}: {detail}", line=line
    )


def _line_numbers(frame: pl.DataFrame, first_line: int, *, quoted: bool) -> pl.Expr:
    """Physical line of each record, the first at `first_line`; quoted newlines push rows down."""
    first = pl.int_range(first_line, frame.height + first_line, dtype=pl.Int64)
    if not frame.height or not quoted:
        return first.alias(LINE)  # no quotes: no newline inside a cell
    inside = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in frame.columns
    )
    return (first + inside.cum_sum().shift(1, fill_value=0)).alias(LINE)


def _widths_agree(
    frame: pl.DataFrame, columns: tuple[str, ...], counts: Counts, fmt: FormatSpec
) -> bool:
    """Whether the delimiters counted before say every record has the header's width.

    Delimiters inside quoted cells are not field ends; a blank line (or a record polars
    padded to a row of nulls) has none: either way only the walk can tell.
    """
    if len(columns) < 2 or not frame.height:
        return True
    blank = frame.select(pl.all_horizontal(pl.col(c).is_null() for c in columns).sum()).item()
    in_cells = 0
    if counts.quotes > 0:
        in_cells = frame.select(
            pl.sum_horizontal(
                pl.col(c).str.count_matches(fmt.delimiter, literal=True).fill_null(0)
                for c in columns
            ).sum()
        ).item()
    if blank or counts.delimiters - in_cells != (len(columns) - 1) * frame.height:
        return False
    # Records cut to the header's width (extra_empty_fields = "ignore") are counted in the
    # total: one cut and one short would cancel out. A short record leaves the last column
    # empty, so only without an empty last cell does the total prove every width.
    return fmt.extra_empty_fields != "ignore" or not frame[columns[-1]].null_count()

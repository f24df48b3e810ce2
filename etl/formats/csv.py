"""CSV reader: every cell as text, every row with its physical source line number.

polars parses, but it pads a row with too few fields with nulls and refuses one with too
many without saying where. So the fields are counted too: one `bytes.count` of the
delimiter over the data says whether every record had as many fields as the header;
only when it does not (or polars gave up) is the file walked with the csv module to name
the first bad line. Blank lines are skipped; they still count for the line numbers.

A line longer than `format.max_line_bytes` is refused as hostile before polars sees it
(polars would buffer it whole). Finding one costs almost nothing: from the start of a line,
the last newline within the next `max_line_bytes + 1` bytes is searched for backwards, so a
normal file is crossed in a few jumps of about that size, never byte by byte.

Shapes that cost memory out of proportion to the file's size (a header of a million
fields, millions of blank lines, cells of megabytes) are refused by etl.formats.csv_bounds
before polars pays for them.

Dialects the contract declares (title lines, a units row, a sniffed delimiter, escaped
quotes, a trailer) are made standard CSV first, by etl.formats.csv_dialect; a trailer's
count and control sum are checked on the rows read, by etl.formats.trailer.
"""

from __future__ import annotations

import csv
import io
import mmap
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from etl.contracts import FormatSpec
from etl.errors import ParseError, SchemaMismatch
from etl.formats import trailer
from etl.formats.csv_bounds import (
    Counts,
    count_data,
    refuse_big_cells,
    refuse_many_lines,
    refuse_wide_header,
)
from etl.formats.csv_dialect import Head, lf_lines, reader, standard
from etl.formats.text import as_utf8, clean_cells
from etl.models import LINE, ParsedFile

# The slow walk must not fail where polars read fine: no limit on a field's size.
csv.field_size_limit(2**31 - 1)
_BLOCK = 1 << 24


def read_csv(path: Path, fmt: FormatSpec, scratch: Path) -> ParsedFile:
    """Read a delimited file as strings; the header row names the columns."""
    utf8 = as_utf8(path, fmt.encoding, scratch, fallback=fmt.fallback_encoding)
    made = [utf8] if utf8 != path else []  # scratch copies of ours, removed at the end
    try:
        utf8 = lf_lines(path, utf8, scratch, made)
        _refuse_long_lines(path, utf8, fmt.max_line_bytes)
        plain = standard(path, utf8, fmt, scratch, made)
        found, head = plain.trailer, plain.head
        refuse_wide_header(path, head, plain.fmt)
        counts = count_data(plain.utf8, head, plain.fmt)
        refuse_many_lines(path, plain.utf8, head, plain.fmt, counts)
        frame, columns = _read(path, plain.utf8, head, plain.fmt, counts)
    finally:
        for copy in made:
            copy.unlink(missing_ok=True)
    refuse_big_cells(path, frame, columns, fmt)
    if columns:
        blank = pl.all_horizontal(pl.col(c).is_null() for c in columns)
        if frame.select(blank.any()).item():
            frame = frame.filter(~blank)
    frame = clean_cells(frame, columns, fmt.null_values)
    if found is not None and fmt.trailer is not None:
        at = trailer.Trailer(head.data_line + counts.newlines, found.fields)
        trailer.check(path.name, at, fmt.trailer, frame, fmt)
    return ParsedFile(path, frame, columns)


def _read(
    path: Path, utf8: Path, head: Head, fmt: FormatSpec, counts: Counts
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Parse the data, number its lines, check its fields against the `counts` made before."""
    frame = _parse(path, utf8, head, fmt)
    columns = tuple(frame.columns)
    doubled = [c for c in columns if "_duplicated_" in c]
    if doubled:
        name = doubled[0].split("_duplicated_")[0]
        raise SchemaMismatch(f"{path.name}: the header names a column twice ({name!r})")
    quoted = counts.quotes > 0
    frame = frame.with_columns(_line_numbers(frame, head.data_line, quoted=quoted))
    _check_field_counts(frame, columns, counts.delimiters, quoted, path, utf8, fmt, head)
    return frame, columns


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


def _parse(path: Path, utf8: Path, head: Head, fmt: FormatSpec) -> pl.DataFrame:
    # No null_values here: cells are trimmed first, then matched (see clean_cells).
    try:
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
            truncate_ragged_lines=fmt.extra_empty_fields == "ignore",
            glob=False,  # the path is a file's name: "products_[1].csv" is not a pattern
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _csv_error(path, utf8, fmt, head, exc) from exc


def _csv_error(path: Path, utf8: Path, fmt: FormatSpec, head: Head, exc: Exception) -> ParseError:
    """polars' message is long and has no usable position: keep its reason, find the line."""
    text = str(exc)
    reason = re.search(r"Original error: `+\s*(.*?)\s*`+", text, flags=re.S)
    detail = " ".join((reason.group(1) if reason else text.splitlines()[0]).split())
    found = _first_bad_record(utf8, fmt, head, len(head.fields)) if utf8.exists() else None
    if found:
        line, detail = found
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


def _check_field_counts(
    frame: pl.DataFrame,
    columns: tuple[str, ...],
    delimiters: int,
    quoted: bool,
    path: Path,
    utf8: Path,
    fmt: FormatSpec,
    head: Head,
) -> None:
    """Every record has as many fields as the header, or the file is rejected at that line."""
    if len(columns) < 2 or not frame.height:
        return
    blank = frame.select(pl.all_horizontal(pl.col(c).is_null() for c in columns).sum()).item()
    in_cells = 0
    if quoted:
        in_cells = frame.select(
            pl.sum_horizontal(
                pl.col(c).str.count_matches(fmt.delimiter, literal=True).fill_null(0)
                for c in columns
            ).sum()
        ).item()
    if not blank and delimiters - in_cells == (len(columns) - 1) * frame.height:
        return
    found = _first_bad_record(utf8, fmt, head, len(columns))
    if found:
        line, problem = found
        raise ParseError(f"{path.name}: {problem}", line=line)


def _first_bad_record(
    utf8: Path, fmt: FormatSpec, head: Head, width: int
) -> tuple[int, str] | None:
    """Walk the data with the csv module: (line, problem) of the first malformed record.

    The csv module reads a quote inside an unquoted cell as text, polars opens a quoted
    section there: a record with an odd number of quotes is where polars went wrong.
    """
    with utf8.open("rb") as raw:
        raw.seek(head.data_offset)
        handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        quotes = 0  # in the lines of the record being read

        def counted() -> Iterator[str]:
            nonlocal quotes
            for text in handle:
                quotes += text.count(fmt.quote)
                yield text

        records = reader(counted(), fmt, strict=True)
        start = head.data_line
        try:
            for record in records:
                problem = _wrong_width(record, width, fmt)
                if problem:
                    return start, problem
                if quotes % 2:
                    return start, (
                        f"a quote inside a cell that is not quoted ({fmt.quote} alone); "
                        "quote the cell and double the quote in it"
                    )
                quotes = 0
                start = head.data_line + records.line_num
        except csv.Error as exc:
            return start, f"malformed record ({exc})"
    return None


def _wrong_width(record: list[str], width: int, fmt: FormatSpec) -> str | None:
    """Why a record's field count is wrong for a header of `width` fields, or None if it is not."""
    if not record or len(record) == width:
        return None
    problem = f"{len(record)} fields where the header has {width}"
    if len(record) < width or any(field.strip() for field in record[width:]):
        return problem
    if fmt.extra_empty_fields == "ignore":
        return None
    return (
        f"{problem}, the extra ones empty (a trailing delimiter): "
        'format.extra_empty_fields = "ignore" takes such rows'
    )

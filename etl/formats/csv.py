"""CSV reader: every cell as text, every row with its physical source line number."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from etl.contracts import FormatSpec
from etl.errors import ParseError, SchemaMismatch
from etl.formats.text import as_utf8
from etl.models import LINE, ParsedFile


def read_csv(path: Path, fmt: FormatSpec, scratch: Path) -> ParsedFile:
    """Read a delimited file as strings; the header row names the columns."""
    utf8 = as_utf8(path, fmt.encoding, scratch)
    try:
        frame = pl.read_csv(
            utf8,
            separator=fmt.delimiter,
            quote_char=fmt.quote,
            has_header=True,
            infer_schema=False,
            null_values=list(fmt.null_values),
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _csv_error(path, utf8, fmt, exc) from exc
    finally:
        if utf8 != path:
            utf8.unlink(missing_ok=True)  # after _csv_error has read it
    columns = tuple(frame.columns)
    doubled = [c for c in columns if "_duplicated_" in c]
    if doubled:
        raise SchemaMismatch(
            f"{path.name}: the header names a column twice ({doubled[0].split('_duplicated_')[0]!r})"
        )
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in columns)
    return ParsedFile(path, frame.with_columns(_line_numbers(frame, path)), columns)


def _csv_error(path: Path, utf8: Path, fmt: FormatSpec, exc: Exception) -> ParseError:
    """polars' message is long and gives a byte offset; keep its reason and name the line."""
    text = str(exc)
    reason = re.search(r"Original error: `+\s*(.*?)\s*`+", text, flags=re.S)
    detail = " ".join((reason.group(1) if reason else text.splitlines()[0]).split())
    line = None
    offset = re.search(r"offset in the file is (\d+) bytes", text)
    if offset and utf8.exists():
        with utf8.open("rb") as handle:
            line = handle.read(int(offset.group(1))).count(b"\n") + 1
    return ParseError(
        f"{path.name}: not readable as CSV with delimiter {fmt.delimiter!r}: {detail}", line=line
    )


def _line_numbers(frame: pl.DataFrame, path: Path) -> pl.Expr:
    """Physical line of each record: header is line 1; quoted newlines push later rows down."""
    first = pl.int_range(2, frame.height + 2, dtype=pl.Int64)
    if not frame.height:
        return first.alias(LINE)
    # Cheap test first: with no quoted newlines the file has one line per record.
    with path.open("rb") as f:
        newlines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    if newlines <= frame.height + 1:
        return first.alias(LINE)
    inside = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n").fill_null(0) for c in frame.columns
    )
    return (first + inside.cum_sum().shift(1, fill_value=0)).alias(LINE)

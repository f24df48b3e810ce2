"""Bounds on a CSV file's shape, checked before polars allocates for it.

polars holds every row as one value per column, blank lines included (a blank line is a
row of nulls), so memory follows rows x columns, not the file's size: a header of a million
names aborts the process, and 20 MB of newlines under an 11-column header asks for gigabytes.
A broken export job writes exactly these shapes, so each is refused as the whole file, with
the line (and column) it starts at, before the reader pays for it:
- more header fields than `format.max_columns`;
- more lines of data than `format.max_rows` (physical lines: a cell's own line breaks count);
- more blank lines than `format.max_blank_lines`: counting empty-line pairs (LF LF, or
  LF CR LF when the file's lines end in CRLF) along with the lines finds a file that may
  have them, then the csv module counts only those outside quoted cells (a blank line
  inside a quoted description is text) and stops once the bound is passed;
- a cell longer than `format.max_cell_bytes`, checked on the parsed frame (the line bound has
  already capped what that costs) before the rows go on to validation and reports.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.models import LINE
from etl.read.formats.csv_dialect import Head, reader

_BLOCK = 1 << 24


def refuse_wide_header(path: Path, head: Head, fmt: FormatSpec) -> None:
    """ParseError when the header names more columns than `format.max_columns`."""
    if len(head.fields) > fmt.max_columns:
        raise ParseError(
            f"{path.name}: the header has {len(head.fields):,} fields, more than "
            f"format.max_columns = {fmt.max_columns:,}: refused as a broken export",
            line=head.line,
            column=head.fields[fmt.max_columns],
        )


@dataclass(frozen=True)
class Counts:
    """Tokens in the data (after the header), from the one pass over it before polars reads."""

    quotes: int
    delimiters: int
    newlines: int
    pairs: int  # empty-line pairs: LF LF, or LF CR LF in a CRLF file
    blocks: int
    lines: int  # physical lines; a last one without a newline counts


def count_data(utf8: Path, head: Head, fmt: FormatSpec) -> Counts:
    """Count the data's quotes, delimiters, newlines and empty-line pairs, read once in blocks."""
    quote, delimiter = fmt.quote.encode(), fmt.delimiter.encode()
    quotes = delimiters = newlines = pairs = blocks = 0
    last = b"\n"
    with utf8.open("rb") as handle:
        handle.seek(head.data_offset)
        crlf = handle.read(4096).split(b"\n", 1)[0].endswith(b"\r")
        pair = b"\n\r\n" if crlf else b"\n\n"
        # Whether a block has a pair at all (the usual answer: none) a regex tells in a
        # third of the time count takes (measured): only then are they counted.
        finder = re.compile(re.escape(pair))
        handle.seek(head.data_offset)
        for block in iter(lambda: handle.read(_BLOCK), b""):
            # Most exports quote nothing: finding none takes a sixth of counting them.
            quotes += block.count(quote) if quote in block else 0
            delimiters += block.count(delimiter)
            newlines += block.count(b"\n")
            pairs += block.count(pair) if finder.search(block) else 0
            blocks, last = blocks + 1, block[-1:]
    lines = newlines + (last != b"\n")
    return Counts(quotes, delimiters, newlines, pairs, blocks, lines)


def refuse_many_lines(path: Path, utf8: Path, head: Head, fmt: FormatSpec, counts: Counts) -> None:
    """ParseError when the data has more lines, or more blank lines, than the contract allows."""
    lines = counts.lines
    if lines > fmt.max_rows:
        raise ParseError(
            f"{path.name}: {lines:,} lines of data, more than format.max_rows = "
            f"{fmt.max_rows:,}: refused before reading",
            line=head.data_line + fmt.max_rows,
        )
    # Non-overlapping pairs undercount a run of newlines by half, and a pair may straddle
    # two blocks: only when even this generous guess passes the bound are lines walked.
    if 2 * counts.pairs + counts.blocks > fmt.max_blank_lines:
        _count_blank_lines(path, utf8, head, fmt)


def _count_blank_lines(path: Path, utf8: Path, head: Head, fmt: FormatSpec) -> None:
    """Walk the records; ParseError at the blank line that passes `format.max_blank_lines`.

    A quote left open makes the rest of the file one cell, blank lines and all: the walk
    stops once a record grows past `max_line_bytes` rather than hold it (the reader then
    refuses that cell for its size).
    """
    blank, size = 0, 0
    with utf8.open("rb") as raw:
        raw.seek(head.data_offset)
        handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")

        def lines() -> Iterator[str]:
            nonlocal size
            for text in handle:
                size += len(text)
                if size > fmt.max_line_bytes:
                    return
                yield text

        records = reader(lines(), fmt)
        for record in records:
            size = 0
            if record:
                continue
            blank += 1
            if blank > fmt.max_blank_lines:
                raise ParseError(
                    f"{path.name}: {too_many_blank_lines(fmt)}",
                    line=head.data_line + records.line_num - 1,
                )


def too_many_blank_lines(fmt: FormatSpec) -> str:
    """The problem of a file with more blank lines than `format.max_blank_lines`."""
    return (
        f"more than {fmt.max_blank_lines:,} blank lines (format.max_blank_lines): refused as "
        "a broken export"
    )


def refuse_big_cells(
    path: Path, frame: pl.DataFrame, columns: tuple[str, ...], fmt: FormatSpec
) -> None:
    """ParseError naming the line and column of the first cell over `format.max_cell_bytes`."""
    if not frame.height or not columns:
        return
    limit = fmt.max_cell_bytes
    longest = frame.select(pl.col(c).str.len_bytes().max() for c in columns).row(0)
    if not any(size is not None and size > limit for size in longest):
        return
    too_big = pl.any_horizontal(pl.col(c).str.len_bytes() > limit for c in columns)
    row = frame.filter(too_big).row(0, named=True)
    column = next(c for c in columns if row[c] is not None and len(row[c].encode()) > limit)
    raise ParseError(
        f"{path.name}: a cell of {len(row[column].encode()):,} bytes, more than "
        f"format.max_cell_bytes = {limit:,}: refused as a broken export",
        line=row[LINE],
        column=column,
    )

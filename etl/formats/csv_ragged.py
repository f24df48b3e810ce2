"""Records whose field count is not the header's: rejected rows, found by one walk.

polars pads a record with too few fields with nulls and cuts one with too many
(`truncate_ragged_lines`), so neither can be told from the frame. When the reader's counts
say some record may be ragged (etl.formats.csv), the data is walked once with the csv
module, streaming: each record's first physical line is noted (the frame's lines are then
taken from the walk, which a cut-off field holding a quoted newline cannot shift), and each
record of another width than the header's with its field count. Such a record is no
file-level error: none of its cells can be trusted, its key included, so validation
rejects it as a row whose key could not be read (etl.validate) and the file goes on.

What stays a file-level error, at the first record it happens on (`Walk.malformed`): a
record the csv module cannot read, a quote inside a cell that is not quoted (where polars
and the csv module part ways), and, unless `format.extra_empty_fields = "ignore"`, a record
whose extra fields are all empty (a trailing delimiter, written on every row: the message
says how to take them).
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.contracts import FormatSpec
from etl.formats.csv_dialect import Head, reader
from etl.models import LINE, RAGGED_SCHEMA


@dataclass(frozen=True)
class Walk:
    """What the walk found: every record's line, the ragged ones, the first malformed one."""

    starts: array[int]  # first physical line of every record, blank ones included
    ragged: pl.DataFrame  # RAGGED_SCHEMA: LINE, fields found, the header's width
    malformed: tuple[int, str] | None  # (line, problem): the walk stopped there

    def numbered(self, frame: pl.DataFrame) -> pl.DataFrame | None:
        """`frame` (polars' rows, one per record) with LINE from the walk; None if they differ."""
        if frame.height != len(self.starts):
            return None
        return frame.with_columns(pl.Series(LINE, self.starts, dtype=pl.Int64))


def walk(utf8: Path, fmt: FormatSpec, head: Head, width: int) -> Walk:
    """Walk the data with the csv module, once, streaming; see the module's docstring."""
    starts, lines, fields = array("q"), array("q"), array("q")
    malformed = None
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
                if quotes % 2:
                    malformed = (
                        start,
                        (
                            f"a quote inside a cell that is not quoted ({fmt.quote} alone); "
                            "quote the cell and double the quote in it"
                        ),
                    )
                    break
                starts.append(start)
                if record and len(record) != width:
                    problem = _trailing_delimiter(record, width, fmt)
                    if problem:
                        malformed = start, problem
                        break
                    if not _extra_empty(record, width):
                        lines.append(start)
                        fields.append(len(record))
                quotes = 0
                start = head.data_line + records.line_num
        except csv.Error as exc:
            malformed = start, f"malformed record ({exc})"
    ragged = pl.DataFrame(
        {LINE: lines, "fields": fields, "width": [width] * len(lines)}, schema=RAGGED_SCHEMA
    )
    return Walk(starts, ragged, malformed)


def _extra_empty(record: list[str], width: int) -> bool:
    """Whether a record is longer than the header by fields that are all empty."""
    return len(record) > width and not any(field.strip() for field in record[width:])


def _trailing_delimiter(record: list[str], width: int, fmt: FormatSpec) -> str | None:
    """The file-level problem of a row whose extra fields are all empty, unless they are taken."""
    if not _extra_empty(record, width) or fmt.extra_empty_fields == "ignore":
        return None
    return (
        f"{len(record)} fields where the header has {width}, the extra ones empty (a trailing "
        'delimiter): format.extra_empty_fields = "ignore" takes such rows'
    )

"""Records whose field count is not the header's: rejected rows, found by one walk.

polars pads a record with too few fields with nulls and cuts one with too many
(`truncate_ragged_lines`), so neither can be told from the frame. When the reader's counts
say some record may be ragged (etl.read.formats.csv), the data is walked once with the csv
module, streaming: each record's first physical line is noted (the frame's lines are then
taken from the walk, which a cut-off field holding a quoted newline cannot shift), and each
record of another width than the header's with its field count. Such a record is no
file-level error: none of its cells can be trusted, its key included, so validation
rejects it as a row whose key could not be read (etl.read.validate) and the file goes on.

A record of nothing but blanks is no row, whatever its width: a line of spaces counts as a
blank line (toward `format.max_blank_lines`), as does a lone Ctrl-Z (0x1A, DOS end of file)
when no data follows it. When more records share one other width than have the header's,
the header is the broken line, not they (`Walk.outvoted`; the reader refuses the file).

What stays a file-level error, at the first record it happens on (`Walk.malformed`): a
record the csv module cannot read, a quote inside a cell that is not quoted (where polars
and the csv module part ways), and, unless `format.extra_empty_fields = "ignore"`, a record
whose extra fields are all empty (a trailing delimiter, written on every row: the message
says how to take them), and a blank line past `format.max_blank_lines`.
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.models import LINE, RAGGED_SCHEMA
from etl.read.formats.csv_bounds import too_many_blank_lines
from etl.read.formats.csv_dialect import Head, reader

_EOF_BYTE = "\x1a"  # DOS end of file (Ctrl-Z): old exports still write it after the last line


@dataclass(frozen=True)
class Walk:
    """What the walk found: every record's line, the ragged ones, the first malformed one."""

    starts: array[int]  # first physical line of every record, blank ones included
    ragged: pl.DataFrame  # RAGGED_SCHEMA: LINE, fields found, the header's width
    malformed: tuple[int, str] | None  # (line, problem): the walk stopped there
    blank: array[int]  # lines of records with nothing but blanks in them: not rows
    fitting: int  # records of the header's width (trailing empty fields taken)

    def numbered(self, frame: pl.DataFrame) -> pl.DataFrame | None:
        """`frame` (polars' rows, one per record) with LINE from the walk; None if they differ."""
        if frame.height != len(self.starts):
            return None
        numbered = frame.with_columns(pl.Series(LINE, self.starts, dtype=pl.Int64))
        if self.blank:
            numbered = numbered.filter(~pl.col(LINE).is_in(pl.Series(self.blank).implode()))
        return numbered

    def outvoted(self) -> tuple[int, int, int] | None:
        """(width, records of it, records) when more records share one other width than
        have the header's: the header, not the rows, is off; None when the header holds.

        A tie keeps the header: a broken export writes rows of scattered widths, each of
        them a rejected row, and the file's share of rejected rows is judged after.
        """
        if not self.ragged.height:
            return None
        counts = self.ragged["fields"].value_counts(sort=True)
        width, count = counts.row(0)
        if count <= self.fitting:
            return None
        return width, count, self.fitting + self.ragged.height


def walk(utf8: Path, fmt: FormatSpec, head: Head, width: int) -> Walk:
    """Walk the data with the csv module, once, streaming; see the module's docstring."""
    tally, malformed = _Tally(fmt, width), None
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
                problem = tally.take(record, start)
                if problem:
                    malformed = start, problem
                    break
                quotes = 0
                start = head.data_line + records.line_num
        except csv.Error as exc:
            malformed = start, f"malformed record ({exc})"
    return tally.walk(malformed)


class _Tally:
    """The walk's account of the records, one at a time, in arrays (8 bytes a record)."""

    def __init__(self, fmt: FormatSpec, width: int) -> None:
        self.fmt, self.width = fmt, width
        self.starts, self.lines, self.fields = array("q"), array("q"), array("q")
        self.blank, self.blanks, self.fitting = array("q"), 0, 0
        self.eof_mark: int | None = None  # a lone end-of-file byte: blank only if it is last

    def take(self, record: list[str], start: int) -> str | None:
        """Count one record that starts on line `start`; the file-level problem it is, if any."""
        self.starts.append(start)
        if self.eof_mark is not None and not (_blank(record) or record == [_EOF_BYTE]):
            self._eof_mark_was_data()
        if len(record) == self.width:  # the common case, first: a row of blanks is read
            self.fitting += 1  # as a row of empty cells and dropped after
            return None
        if _extra_empty(record, self.width):
            self.fitting += 1
            return _trailing_delimiter(record, self.width, self.fmt)
        if _blank(record) or record == [_EOF_BYTE]:
            return self._take_blank(record, start)
        self.lines.append(start)
        self.fields.append(len(record))
        return None

    def _take_blank(self, record: list[str], start: int) -> str | None:
        """A record of blanks is no row; a line of them counts as a blank line."""
        # Empty fields between delimiters are a row of empty cells, which no bound counts.
        self.blanks += len(record) <= 1
        if self.blanks > self.fmt.max_blank_lines:
            return too_many_blank_lines(self.fmt)
        if record:  # an empty line is a row of nulls to polars, dropped as such
            self.blank.append(start)
        if record == [_EOF_BYTE] and self.eof_mark is None:
            self.eof_mark = start
        return None

    def _eof_mark_was_data(self) -> None:
        """A lone end-of-file byte with data after it is a row of one field, not an ending."""
        assert self.eof_mark is not None
        self.lines.append(self.eof_mark)
        self.fields.append(1)
        self.blank.remove(self.eof_mark)
        self.blanks, self.eof_mark = self.blanks - 1, None

    def walk(self, malformed: tuple[int, str] | None) -> Walk:
        """What was found, the ragged records as a frame."""
        ragged = pl.DataFrame(
            {LINE: self.lines, "fields": self.fields, "width": [self.width] * len(self.lines)},
            schema=RAGGED_SCHEMA,
        )
        return Walk(self.starts, ragged, malformed, self.blank, self.fitting)


def _blank(record: list[str]) -> bool:
    """Whether a record holds nothing but blanks (an empty line, spaces, empty fields)."""
    return not any(field.strip() for field in record)


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

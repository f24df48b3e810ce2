"""A big, plain CSV file read a batch of rows at a time, so no stage holds it whole.

At ten million rows the parse alone is several GB as one frame. A file whose every physical
line is one record (no quotes, so no newline inside a cell; no blank lines, no units row,
no trailer) can be cut anywhere between lines, and each batch's line numbers follow from
its position. Every other shape is `NotPlain`: the caller reads the file whole, with
etl.read.formats.csv, which finds ragged records and quoted newlines by walking the file.
The checks the whole-file reader makes (hostile lines and headers, cell sizes, trimmed
cells, the field counts) are made here too, batch by batch or summed at the end. A feed
that reads only some of the columns gets only those, trimmed: the others are still checked
for their size, and looked at where they decide whether a row is blank.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.errors import SchemaMismatch
from etl.models import LINE, ParsedFile
from etl.read.formats.cells import clean_cells
from etl.read.formats.csv import Prepared, prepared
from etl.read.formats.csv_bounds import refuse_big_cells

# Rows per batch: at 250k the batches' casts and checks took 170 MB more at once than at
# 100k (1M rows, measured), for no less CPU.
BATCH_ROWS = 100_000


class NotPlain(Exception):
    """The file is no plain one-record-per-line CSV: read it whole instead."""


def csv_batches(
    path: Path,
    fmt: FormatSpec,
    scratch: Path,
    rows: int = BATCH_ROWS,
    read: Collection[str] | None = None,
) -> Iterator[ParsedFile]:
    """The file's records as ParsedFiles of about `rows` rows each, in file order.

    `read`: the columns the caller reads (None: all); each frame holds only those of them
    the file has (its `columns` still name every column of the header).
    Raises NotPlain (before the first batch, or after the last when only the totals tell)
    for a file the whole-file reader must take; the batches given so far are then void.
    """
    if fmt.skip_after_header:
        raise NotPlain("a row after the header is skipped")
    with prepared(path, fmt, scratch) as ready:
        _refuse_unplain(ready)
        head, counts = ready.plain.head, ready.counts
        done = 0
        for batch in _scanned(ready, rows):
            frame = _numbered(path, batch, head.data_line + done, fmt)
            done += batch.height
            yield _cleaned(path, frame, fmt, read)
    # Without quotes every physical line is a record: fewer rows means polars skipped blank
    # lines, and the line numbers given would be wrong.
    if done != counts.lines or counts.delimiters != (len(head.fields) - 1) * done:
        raise NotPlain("the records are not one per line, each of the header's width")


def _refuse_unplain(ready: Prepared) -> None:
    """NotPlain for what only the whole-file reader handles: quotes, a trailer, blank lines."""
    if ready.counts.quotes or ready.plain.trailer is not None or ready.counts.pairs:
        raise NotPlain("quotes, a trailer or blank lines")


def _scanned(ready: Prepared, rows: int) -> Iterator[pl.DataFrame]:
    """polars' batches of the data, every cell as text (a refused record: NotPlain)."""
    plain = ready.plain
    scan = pl.scan_csv(
        plain.utf8,
        separator=plain.fmt.delimiter,
        quote_char=plain.fmt.quote,
        has_header=True,
        skip_lines=plain.head.line - 1,
        infer_schema=False,
        raise_if_empty=False,
        truncate_ragged_lines=plain.fmt.extra_empty_fields == "ignore",
        glob=False,  # the path is a file's name, not a pattern
    )
    try:
        yield from scan.collect_batches(chunk_size=rows, engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise NotPlain(f"polars refused a record: {exc}") from exc


def _numbered(path: Path, batch: pl.DataFrame, first_line: int, fmt: FormatSpec) -> pl.DataFrame:
    """The batch with each record's physical line (one record per line, none blank)."""
    doubled = [c for c in batch.columns if "_duplicated_" in c]
    if doubled:
        name = doubled[0].split("_duplicated_")[0]
        raise SchemaMismatch(f"{path.name}: the header names a column twice ({name!r})")
    lines = pl.int_range(first_line, first_line + batch.height, dtype=pl.Int64).alias(LINE)
    blank = pl.all_horizontal(pl.col(c).is_null() for c in batch.columns)
    if batch.width > 1 and batch.select(blank.any()).item():
        raise NotPlain("a record with no field (a line of delimiters, or a short record)")
    # Records cut to the header's width (extra_empty_fields = "ignore") are counted in the
    # delimiters' total: one cut and one short one would cancel out (as etl.read.formats.csv).
    cut = fmt.extra_empty_fields == "ignore"
    if cut and batch.width and batch.get_column(batch.columns[-1]).null_count():
        raise NotPlain("a record whose last field is empty may be short")
    return batch.with_columns(lines)


def _cleaned(
    path: Path, frame: pl.DataFrame, fmt: FormatSpec, read: Collection[str] | None
) -> ParsedFile:
    """One batch as the whole-file reader gives its rows: cells checked, trimmed, blanks out.

    Only the columns read are trimmed and kept: trimming the others (half of a shared
    export's) would cost as much, for cells nobody reads.
    """
    columns = tuple(c for c in frame.columns if c != LINE)
    refuse_big_cells(path, frame, columns, fmt)
    kept = columns if read is None else tuple(c for c in columns if c in read)
    # One piece per column: polars parses in pieces, and every select over them after
    # would copy each cell's view while the pieces are still held.
    out = clean_cells(frame.select(*kept, LINE).rechunk(), kept, fmt.null_values)
    if columns:  # after cleaning: a row of blanks is as blank as an empty line
        blank = _blank(out, kept)
        if blank.any():
            out = out.filter(~_blank_elsewhere(frame, blank, columns, kept, fmt))
    return ParsedFile(path, out, columns)


def _blank(frame: pl.DataFrame, columns: Collection[str]) -> pl.Series:
    """Per row: whether every one of `columns` is null (true when there are none)."""
    if not columns:
        return pl.Series([True] * frame.height, dtype=pl.Boolean)
    return frame.select(pl.all_horizontal(pl.col(c).is_null() for c in columns)).to_series()


def _blank_elsewhere(
    frame: pl.DataFrame,
    blank: pl.Series,
    columns: tuple[str, ...],
    kept: tuple[str, ...],
    fmt: FormatSpec,
) -> pl.Series:
    """Per row: whether it is blank in the columns not kept too, of the rows `blank` in those
    kept; only those few rows' other cells are cleaned to tell."""
    others = [c for c in columns if c not in kept]
    if not others:
        return blank
    at = pl.arange(0, frame.height, eager=True, dtype=pl.UInt32).filter(blank)
    rest = clean_cells(frame.select(others)[at], others, fmt.null_values)
    empty = at.filter(_blank(rest, others))
    return pl.arange(0, frame.height, eager=True, dtype=pl.UInt32).is_in(empty.implode())

"""The XML reader's rows, moved out of Python objects into polars frames a batch at a time.

A million records held as Python strings until the file ends cost several hundred MiB
(a str object per cell); a batch of BATCH_ROWS rows costs a few MiB. The reader hands
over its complete rows after each block it parses; they become one frame of text columns
plus the source line, and the frames are joined once at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.models import LINE

BATCH_ROWS = 1 << 16  # rows kept as Python values before they become a frame


class Batches:
    """The frames made so far, and which fields had a value in any of them."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = list(fields)
        self.frames: list[pl.DataFrame] = []
        self.valued = [False] * len(self.fields)  # a non-null cell was seen in the field

    def add(self, columns: Sequence[list[str | None]], lines: list[int]) -> None:
        """One batch: a list per field (all as long as `lines`) and each row's line."""
        frame = pl.DataFrame(
            [_text_column(f, c) for f, c in zip(self.fields, columns, strict=True)]
            + [pl.Series(LINE, lines, dtype=pl.Int64)]
        )
        if frame.height:
            counts = frame.select(pl.col(self.fields).null_count()).row(0)
            self.valued = [v or n < frame.height for v, n in zip(self.valued, counts, strict=True)]
        self.frames.append(frame)

    def frame(self) -> pl.DataFrame:
        """Every batch as one frame (the columns even when there was no row)."""
        if not self.frames:
            self.add([[] for _ in self.fields], [])
        if len(self.frames) == 1:
            return self.frames[0]
        return pl.concat(self.frames, how="vertical")


def _text_column(name: str, cells: list[str | None]) -> pl.Series:
    """One field's cells as text; a field no row of the batch has, as nulls that take no room.

    Built from a list, a column of nulls costs as much as one of short texts (16 bytes a
    cell): 48 MB at 1M records for the stock contract's three optional fields.
    """
    if cells.count(None) == len(cells):
        return pl.repeat(None, len(cells), dtype=pl.String, eager=True).alias(name)
    return pl.Series(name, cells, dtype=pl.String)

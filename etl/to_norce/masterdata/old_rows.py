"""The snapshot a file is diffed against, read a part at a time.

A snapshot holds every row the feed ever had: at ten million rows several GB as one frame.
The diff needs all of it only as keys and states; the fields it compares one column at a
time, and whole rows only for the few that changed, left or come back. So the diff takes
the snapshot as a lazy frame (a scan of its Parquet file, or a frame in memory made lazy)
and collects just those parts. Rows are addressed by their position in the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

AT = "__at"  # a row's position in the snapshot


def columns(old: pl.LazyFrame) -> list[str]:
    """The snapshot's column names (read from the file's schema, no rows)."""
    return old.collect_schema().names()


def numbered(old: pl.LazyFrame, names: Sequence[str]) -> pl.DataFrame:
    """The named columns of every row, with each row's position as AT."""
    return old.select(names).with_row_index(AT).collect()


def column(old: pl.LazyFrame, name: str) -> pl.Series:
    """One column of every row, in the snapshot's order."""
    return old.select(name).collect().to_series()


def rows_at(old: pl.LazyFrame, at: pl.Series) -> pl.DataFrame:
    """The whole rows at the positions `at`, in that order (a position may repeat)."""
    wanted = at.unique()
    found = old.with_row_index(AT).filter(pl.col(AT).is_in(wanted.implode())).collect()
    return at.alias(AT).to_frame().join(found, on=AT, how="left", maintain_order="left").drop(AT)

"""Which file rows differ from their snapshot row in any compared field.

Two ways to the same answer. A snapshot of up to WHOLE_ROWS rows has every compared field
read at once and its rows put beside the file's (at a million rows 0.2 s of CPU; the part-wise
way read each field of each part apart and copied both sides' values into the snapshot's
order: 0.5 s). A larger one is compared a part at a time, a
field at a time, so no whole column is ever held twice (at ten million rows a text column
and its copy took a gigabyte). tests/to_norce/masterdata/diff/test_fast_paths_pinned.py
holds both ways to the same answers.
"""

from __future__ import annotations

import polars as pl

# Snapshot rows compared at a time: two of the row groups polars writes (512² rows each).
PART_ROWS = 2 * 512**2
# Up to this many snapshot rows, all of it is compared at once: its compared fields held
# whole (at 1M rows a 3-feed run's peak rose 278 -> 308 MB); above, the peak is the concern.
WHOLE_ROWS = 2_000_000


def any_differs(
    old: pl.LazyFrame,
    new: pl.DataFrame,
    at: pl.Series,
    fields: list[str],
    snapshot_rows: int,
    part_rows: int = PART_ROWS,
) -> pl.Series:
    """Per row of `new`: does any field differ from its snapshot row (at: its position)?

    A row without a snapshot row (`at` null) differs in nothing; the caller sees it is new.
    """
    if snapshot_rows <= WHOLE_ROWS:
        return whole_differs(old, new, at, fields)
    return parts_differ(old, new, at, fields, part_rows)


def whole_differs(
    old: pl.LazyFrame, new: pl.DataFrame, at: pl.Series, fields: list[str]
) -> pl.Series:
    """`any_differs` with every compared field of the snapshot read at once."""
    if not fields or at.null_count() == at.len():
        return pl.repeat(False, new.height, eager=True)
    snapshot = old.select(fields).collect()
    paired = at.is_not_null()
    positions = at.drop_nulls()
    if positions.len() < 2 or (positions.diff().slice(1) > 0).all():
        # The file in the snapshot's order (an export run after run in one order): the rows
        # that pair up are each side's rows kept in order, a filter, no gather of every value.
        hit = pl.repeat(False, snapshot.height, eager=True).scatter(positions, True)
        mine, theirs = new.select(fields).filter(paired), snapshot.filter(hit)
        found = _differs(mine, theirs, fields)
        # Back to one flag per file row: the k-th paired row takes the k-th flag.
        order = (paired.cast(pl.Int64).cum_sum() - 1).clip(lower_bound=0)
        return found.gather(order) & paired
    theirs = snapshot.select(pl.all().gather(at))  # a null position gives a null row
    return _differs(new.select(fields), theirs, fields) & paired


def _differs(mine: pl.DataFrame, theirs: pl.DataFrame, fields: list[str]) -> pl.Series:
    """Per row: does any field of `mine` differ from the same row of `theirs` (nulls equal)?"""
    if not mine.height:
        return pl.Series(dtype=pl.Boolean)
    return pl.select(
        pl.any_horizontal([mine.get_column(f).ne_missing(theirs.get_column(f)) for f in fields])
    ).to_series()


def parts_differ(
    old: pl.LazyFrame, new: pl.DataFrame, at: pl.Series, fields: list[str], part_rows: int
) -> pl.Series:
    """`any_differs` a part of the snapshot (`part_rows` rows) at a time, a field at a time."""
    differs = pl.repeat(False, new.height, eager=True)
    if not fields or at.null_count() == at.len():
        return differs
    rows = at.arg_sort(nulls_last=True)  # the file's rows in the order of their snapshot rows
    positions = at.gather(rows).head(at.len() - at.null_count())
    parts = []
    for start in range(0, positions[-1] + 1, part_rows):
        bounds = pl.Series([start, start + part_rows], dtype=positions.dtype)
        first, end = positions.search_sorted(bounds, side="left").to_list()
        mine = rows.slice(first, end - first)
        theirs = positions.slice(first, end - first) - start
        parts.append(_part_differs(old.slice(start, part_rows), new, mine, theirs, fields))
    return differs.scatter(rows.head(positions.len()), pl.concat(parts))


def _part_differs(
    part: pl.LazyFrame, new: pl.DataFrame, mine: pl.Series, theirs: pl.Series, fields: list[str]
) -> pl.Series:
    """Per pair of file row (`mine`) and row of a part of the snapshot (`theirs`): differ?

    The part's columns are read one at a time: all of them at once took more than a whole
    column of a million-row snapshot did.
    """
    differs = pl.repeat(False, mine.len(), eager=True)
    for f in fields:
        values = new.get_column(f).gather(mine)
        snapshot = part.select(f).collect().to_series()
        differs = differs | values.ne_missing(snapshot.gather(theirs))
    return differs

"""Which file rows differ from their snapshot row in any compared field.

Two ways to the same answer. A snapshot of up to WHOLE_ROWS rows has each compared field read
whole, a field at a time, and put beside the file's rows (the part-wise way read each field
of each part apart and copied both sides' values into the snapshot's order: at a million
rows about twice the CPU). A larger one is compared a part at a time, a field at a time, so
no whole column is ever held twice (at ten million rows a text column and its copy took a
gigabyte). Either way, a file in its snapshot's order (each paired row's position above the
last one's) has both sides filtered to their paired rows instead of gathered into pairs.
tests/to_norce/masterdata/diff/test_fast_paths_pinned.py and test_aligned_comparison.py hold
every way to the same answers.
"""

from __future__ import annotations

import polars as pl

# Snapshot rows compared at a time: two of the row groups polars writes (512² rows each).
PART_ROWS = 2 * 512**2
# Up to this many snapshot rows each compared field is read whole (one column and its copy
# in the file's order held at a time); above, the peak is the concern.
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
    """`any_differs` with each compared field of the snapshot read whole, one at a time.

    One field at a time: all of them read at once, and both sides' paired rows copied out,
    held three copies of every compared field (a 3-feed run's peak at 1M rows 735 -> 908 MB).
    """
    paired = at.is_not_null()
    differs = pl.repeat(False, new.height, eager=True)
    if not fields or not paired.any():
        return differs
    if _in_order(at):
        return _aligned_differs(old, new, at, paired, fields)
    for f in fields:
        theirs = old.select(f).collect().to_series().gather(at)  # a null position: a null
        differs = differs | new.get_column(f).ne_missing(theirs)
    return differs & paired


def _in_order(at: pl.Series) -> bool:
    """Do the positions rise from each paired file row to the next (a file in the order of
    its snapshot, as an ERP exports run after run)?"""
    present = at.drop_nulls()
    return bool((present.slice(1) > present.slice(0, present.len() - 1)).all())


def _aligned_differs(
    old: pl.LazyFrame, new: pl.DataFrame, at: pl.Series, paired: pl.Series, fields: list[str]
) -> pl.Series:
    """`whole_differs` of positions that rise: the paired file rows and the snapshot rows they
    pair with are then in the same order, so each side is filtered, not gathered (a gather
    of a text column took about ten times the CPU of a filter).
    """
    rows = old.select(pl.len()).collect().item()
    hit = pl.repeat(False, rows, eager=True).scatter(at.drop_nulls(), True)
    every = bool(paired.all())
    differs = pl.repeat(False, at.len() - at.null_count(), eager=True)
    for f in fields:
        theirs = old.select(f).collect().to_series().filter(hit)
        mine = new.get_column(f) if every else new.get_column(f).filter(paired)
        differs = differs | mine.ne_missing(theirs)
    if every:
        return differs
    return pl.repeat(False, new.height, eager=True).scatter(paired.arg_true(), differs)


def parts_differ(
    old: pl.LazyFrame, new: pl.DataFrame, at: pl.Series, fields: list[str], part_rows: int
) -> pl.Series:
    """`any_differs` a part of the snapshot (`part_rows` rows) at a time, a field at a time."""
    differs = pl.repeat(False, new.height, eager=True)
    if not fields or at.null_count() == at.len():
        return differs
    rows = at.arg_sort(nulls_last=True)  # the file's rows in the order of their snapshot rows
    positions = at.gather(rows).head(at.len() - at.null_count())
    compare = _part_aligned if _in_order(at) else _part_differs
    parts = []
    for start in range(0, positions[-1] + 1, part_rows):
        bounds = pl.Series([start, start + part_rows], dtype=positions.dtype)
        first, end = positions.search_sorted(bounds, side="left").to_list()
        mine = rows.slice(first, end - first)
        theirs = positions.slice(first, end - first) - start
        parts.append(compare(old.slice(start, part_rows), new, mine, theirs, fields))
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


def _part_aligned(
    part: pl.LazyFrame, new: pl.DataFrame, mine: pl.Series, theirs: pl.Series, fields: list[str]
) -> pl.Series:
    """`_part_differs` of pairs whose file rows (`mine`) and part rows (`theirs`) both rise:
    each side is filtered to its paired rows, which then stand in the same order."""
    differs = pl.repeat(False, mine.len(), eager=True)
    if not mine.len():
        return differs
    low = mine[0]
    span = mine[-1] - low + 1
    paired = pl.repeat(False, span, eager=True).scatter(mine - low, True)
    hit: pl.Series | None = None
    for f in fields:
        values = new.get_column(f).slice(low, span).filter(paired)
        snapshot = part.select(f).collect().to_series()
        if hit is None:
            hit = pl.repeat(False, snapshot.len(), eager=True).scatter(theirs, True)
        differs = differs | values.ne_missing(snapshot.filter(hit))
    return differs

"""A feed's first run (every row an add) gives the delta and snapshot the joined diff gives.

The first run skips the join against an empty snapshot (at ten million rows it copied
every row and added a null column per field); this holds its answer to the join's, which a
snapshot row that no file row touches makes the diff take.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from etl.models import INACTIVE, STATE
from etl.to_norce.masterdata.diff import apply, diff
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot

KEY = ["part_no"]


def _file(rows: int) -> pl.DataFrame:
    """A file's valid rows, some fields empty, in no key order."""
    made = [
        product(
            f"P{(n * 7919) % rows:06d}",
            f"Glove {n}",
            ean=None if n % 3 else "7350000000016",
            weight=None if n % 5 else f"{n % 90}.25",
        )
        for n in range(rows)
    ]
    return file_rows(PRODUCT, made)


def _frames(old: pl.DataFrame, new: pl.DataFrame) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    delta = diff(old, new, keys(PRODUCT, []), KEY, True)
    frames = [delta.adds, delta.changes, delta.reactivations, delta.removals, delta.held]
    frames += [delta.spared, delta.marked]
    return frames, apply(old, new.drop("_line"), delta, KEY, True)


def test_first_run_delta_and_snapshot_are_the_joined_diffs() -> None:
    new = pl.concat([_file(3000), _file(3000).slice(0, 0)], rechunk=False)
    empty = snapshot(PRODUCT, [])
    # An inactive row no file row names: the diff joins, and answers the same for the rest.
    bystander = snapshot(PRODUCT, [product("ZZZ", **{STATE: INACTIVE})])
    first, first_snapshot = _frames(empty, new)
    joined, joined_snapshot = _frames(bystander, new)
    assert first[0].height == new.height
    for mine, theirs in zip(first, joined, strict=True):
        assert_frame_equal(mine, theirs)
    assert_frame_equal(first_snapshot, joined_snapshot.filter(pl.col("part_no") != "ZZZ"))


def test_first_run_adds_keep_the_file_order() -> None:
    new = _file(2000)
    adds = diff(snapshot(PRODUCT, []), new, keys(PRODUCT, []), KEY, True).adds
    assert adds["part_no"].to_list() == new["part_no"].to_list()
    assert adds.columns[-1] == "_line"

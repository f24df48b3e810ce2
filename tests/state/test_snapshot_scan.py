"""A snapshot scanned (read a part at a time by the diff) is the snapshot `read` gives.

Including one written before a field was added to the entity: the field reads as empty in
both, so the diff compares it the same way whichever way the snapshot was opened.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from etl.models import ACTIVE, INACTIVE, STATE
from etl.state.snapshots import SnapshotStore
from etl.to_norce.masterdata.diff import apply, diff
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot

KEY = list(PRODUCT.key)


def _store(tmp_path: Path, frame: pl.DataFrame) -> tuple[SnapshotStore, str]:
    store = SnapshotStore(tmp_path)
    return store, store.write("products", "run-1", frame)


def test_a_scan_collects_to_what_read_gives(tmp_path: Path) -> None:
    rows = [product(f"P{n:03d}", f"Glove {n}", **{STATE: ACTIVE}) for n in range(50)]
    store, relative = _store(tmp_path, snapshot(PRODUCT, rows))
    fields = PRODUCT.fields()
    assert_frame_equal(store.scan(relative, fields).collect(), store.read(relative, fields))
    assert_frame_equal(store.scan(None, fields).collect(), store.read(None, fields))


def test_a_field_the_snapshot_lacks_reads_as_empty_in_a_scan(tmp_path: Path) -> None:
    old = snapshot(PRODUCT, [product("P1", "Glove"), product("P2", "Boot", **{STATE: INACTIVE})])
    store, relative = _store(tmp_path, old.drop("ean"))
    fields = PRODUCT.fields()
    scanned = store.scan(relative, fields)
    assert scanned.collect()["ean"].null_count() == 2
    assert_frame_equal(scanned.collect(), store.read(relative, fields))


def test_the_diff_and_the_next_snapshot_are_the_same_from_a_scan(tmp_path: Path) -> None:
    old_rows = [product(f"P{n:03d}", f"Glove {n}") for n in range(40)]
    old_rows += [product("Q1", "Gone", **{STATE: INACTIVE})]
    store, relative = _store(tmp_path, snapshot(PRODUCT, old_rows))
    new_rows = [product(f"P{n:03d}", f"Glove {n}{'!' if n % 7 == 0 else ''}") for n in range(5, 45)]
    new_rows += [product("Q1", "Back")]
    new = file_rows(PRODUCT, new_rows)
    fields = PRODUCT.fields()
    in_memory, scanned = store.read(relative, fields), store.scan(relative, fields)
    mine = diff(scanned, new, keys(PRODUCT, []), KEY, True)
    theirs = diff(in_memory, new, keys(PRODUCT, []), KEY, True)
    for got, want in zip(
        [mine.adds, mine.changes, mine.reactivations, mine.removals, mine.spared],
        [theirs.adds, theirs.changes, theirs.reactivations, theirs.removals, theirs.spared],
        strict=True,
    ):
        assert_frame_equal(got, want)
    assert mine.changes.height == 5 and mine.removals.height == 5 and mine.reactivations.height == 1
    file = new.drop("_line")
    assert_frame_equal(apply(scanned, file, mine, KEY), apply(in_memory, file, theirs, KEY))

"""The diff's join on key hashes gives the join on the keys: same pairs, same order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from etl.to_norce.masterdata.old_rows import AT, ROW, matched, unmatched

parts = st.sampled_from(["A", "B", "C", "D", None])
lists = st.sampled_from(["L1", "L2", None])
keys = st.lists(st.tuples(parts, lists), max_size=12)


def _exact(new: pl.DataFrame, numbered: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    joined = new.with_row_index(ROW).join(
        numbered.select(*key, AT), on=key, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.select(ROW, AT)


def _frames(
    new: list[tuple[str | None, str | None]], old: list[tuple[str | None, str | None]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    schema = {"part_no": pl.String, "list": pl.String}
    left = pl.DataFrame(new, schema=schema, orient="row")
    right = pl.DataFrame(old, schema=schema, orient="row").with_row_index(AT)
    return left, right


@settings(max_examples=60, deadline=None)
@given(new=keys, old=keys)
def test_hashed_join_is_the_key_join(
    new: list[tuple[str | None, str | None]], old: list[tuple[str | None, str | None]]
) -> None:
    left, right = _frames(new, old)
    key = ["part_no", "list"]
    found = matched(left, right, key)
    # Pairs of one file row in the join's order (several when the snapshot repeats a key).
    assert_frame_equal(found.sort(ROW, AT), _exact(left, right, key).sort(ROW, AT))
    assert found.get_column(ROW).to_list() == sorted(found.get_column(ROW).to_list())
    gone = right.join(left, on=key, how="anti", nulls_equal=True)
    assert_frame_equal(unmatched(right, found), gone)


def test_keys_of_other_types_are_joined_on_the_keys() -> None:
    left = pl.DataFrame({"qty": pl.Series([1, 2, 3], dtype=pl.Int32)})
    right = pl.DataFrame({"qty": pl.Series([3, 1], dtype=pl.Int64)}).with_row_index(AT)
    # Hashes of 1 as Int32 and as Int64 differ: hashed, no row would be found again.
    assert matched(left, right, ["qty"]).get_column(AT).to_list() == [1, None, 0]

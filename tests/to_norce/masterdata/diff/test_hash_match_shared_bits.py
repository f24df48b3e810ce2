"""The diff's match of keys by sorted hashes is the join on the keys, pair for pair and in
the join's order, also when keys share the bits of the hash that pair rows (at ten million
rows about a hundred keys do each run; here most bits carry positions so that many do) and
when the file's rows are matched a few at a time."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from etl.to_norce.masterdata.old_rows import AT, ROW, matched

parts = st.sampled_from(["A", "B", "C", "D", "Å", None])
lists = st.sampled_from(["L1", "L2", None])
breaks = st.sampled_from([1, 10, None])
keys = st.lists(st.tuples(parts, lists, breaks), max_size=16)
KEY = ["part_no", "list", "qty"]
SCHEMA = {"part_no": pl.String, "list": pl.String, "qty": pl.Int32}


def _join(new: pl.DataFrame, numbered: pl.DataFrame) -> pl.DataFrame:
    joined = new.with_row_index(ROW).join(
        numbered.select(*KEY, AT), on=KEY, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.select(ROW, AT)


@settings(max_examples=200, deadline=None)
@given(
    new=keys,
    old=keys,
    bits=st.sampled_from([None, 8, 40, 60, 62, 63]),
    part=st.sampled_from([1, 2, 3, 2**20]),
)
def test_the_match_is_the_join_on_the_key(
    new: list[tuple[str | None, str | None, int | None]],
    old: list[tuple[str | None, str | None, int | None]],
    bits: int | None,
    part: int,
) -> None:
    file_keys = pl.DataFrame(new, schema=SCHEMA, orient="row")
    # Repeats allowed: a snapshot written before the contract's key was narrowed.
    numbered = pl.DataFrame(old, schema=SCHEMA, orient="row").with_row_index(AT)
    found = matched(file_keys, numbered, KEY, position_bits=bits, part_rows=part)
    assert_frame_equal(found, _join(file_keys, numbered))


def test_a_key_that_shares_its_hash_bits_with_another_is_not_paired_with_it() -> None:
    # One bit left of each hash: of three snapshot keys at least two share it, and a file
    # key missing from the snapshot meets one of them.
    numbered = pl.DataFrame({"sku": ["A", "B", "C"]}).with_row_index(AT)
    file_keys = pl.DataFrame({"sku": ["C", "X", "Y", "A", "Z"]})
    found = matched(file_keys, numbered, ["sku"], position_bits=63)
    assert found.get_column(AT).to_list() == [2, None, None, 0, None]
    assert found.get_column(ROW).to_list() == [0, 1, 2, 3, 4]

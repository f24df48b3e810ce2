"""A file in its snapshot's order is compared by filtering both sides, not by a gather.

The rule either way: a file row differs where any field differs, nulls equal, from the
snapshot row at its position (`at`), and a row without one (`at` null) differs in nothing.
Pinned here for positions that rise (the filtered way) and any others (the gather), with
text, floats (0.0 and -0.0, NaN), decimals and nulls, a snapshot read from a file of many
row groups or held in memory, and against the part-wise way.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from etl.models import ACTIVE, STATE
from etl.to_norce.masterdata.fields_differ import parts_differ, whole_differs

FIELDS = ["name", "weight", "price"]
SCHEMA = {"sku": pl.String, "name": pl.String, "weight": pl.Float64, "price": pl.Decimal(18, 4)}
names = st.sampled_from(["", "a", "A", "Å", "a ", "ö" * 3, None])
weights = st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf"), None])
prices = st.sampled_from([Decimal("79.2"), Decimal("79.2001"), Decimal("0"), None])
rows = st.tuples(names, weights, prices)


def _truth(old: pl.DataFrame, new: pl.DataFrame, at: pl.Series) -> pl.Series:
    """The rule as the gather states it: each field of the snapshot row put beside its row."""
    differs = pl.repeat(False, new.height, eager=True)
    for f in FIELDS:
        differs = differs | new.get_column(f).ne_missing(old.get_column(f).gather(at))
    return differs & at.is_not_null()


@st.composite
def cases(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(snapshot, file rows, per file row its snapshot position or null)."""
    old_rows = draw(st.lists(rows, min_size=1, max_size=20))
    old = pl.DataFrame(
        [(f"P{i}", *r) for i, r in enumerate(old_rows)], schema=SCHEMA, orient="row"
    ).with_columns(pl.lit(ACTIVE).alias(STATE))
    chosen = sorted(draw(st.sets(st.integers(0, len(old_rows) - 1))))
    if draw(st.booleans()):  # a position twice or out of order: the gather's way
        chosen = draw(st.permutations(chosen + chosen[:1]))
    positions: list[int | None] = []
    for p in chosen:
        positions += [None] * draw(st.integers(0, 2)) + [p]  # rows the snapshot lacks
    new_rows = []
    for p in positions:
        same = p is not None and draw(st.booleans())
        values = old_rows[p] if same and p is not None else draw(rows)
        new_rows.append(("N" if p is None else f"P{p}", *values))
    new = pl.DataFrame(new_rows, schema=SCHEMA, orient="row")
    return old, new, pl.Series("at", positions, dtype=pl.UInt32)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases(), row_group=st.integers(1, 4))
def test_the_filtered_comparison_is_the_gathered_one(
    tmp_path: Path, case: tuple[pl.DataFrame, pl.DataFrame, pl.Series], row_group: int
) -> None:
    old, new, at = case
    truth = _truth(old, new, at)
    path = tmp_path / "snapshot.parquet"
    old.write_parquet(path, row_group_size=row_group)  # a chunk per row group, read back
    for snapshot in (old.lazy(), pl.scan_parquet(path, glob=False)):
        whole = whole_differs(snapshot, new, at, FIELDS)
        assert_series_equal(whole, truth, check_names=False)
        parts = parts_differ(snapshot, new, at, FIELDS, row_group)
        assert_series_equal(parts, truth, check_names=False)


def test_rows_in_order_with_gaps_differ_where_a_field_does() -> None:
    """Rising positions with file rows new to the snapshot between them: the filtered way."""
    old = pl.DataFrame(
        {
            "sku": ["A", "B", "C", "D"],
            "name": ["a", None, "c", "d"],
            "weight": [0.0, 1.0, float("nan"), None],
            "price": [Decimal("1"), Decimal("2"), None, Decimal("4")],
        },
        schema=SCHEMA,
    )
    rows: list[tuple[Any, ...]] = [
        ("A", "a", -0.0, Decimal("1")),  # -0.0 equals 0.0
        ("N", "x", None, None),  # new: differs in nothing
        ("C", "c", float("nan"), None),  # NaN equals NaN, null equals null
        ("D", "d", None, Decimal("4.0001")),
    ]
    new = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    at = pl.Series("at", [0, None, 2, 3], dtype=pl.UInt32)
    whole = whole_differs(old.lazy(), new, at, FIELDS)
    assert whole.to_list() == [False, False, False, True]
    assert_series_equal(whole, _truth(old, new, at), check_names=False)

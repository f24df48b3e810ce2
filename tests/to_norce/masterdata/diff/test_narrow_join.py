"""The diff joins only the keys; its delta is the one a join of the whole rows gives.

The oracle below is the diff as it was written before (every field of the file beside every
field of the snapshot, then filtered): random snapshots in every state (active, held,
inactive, dormant), random files with unchanged, changed, emptied, added and inactive-marked
rows, in a shuffled order, must give the same frames, in the same order, from both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from etl.models import (
    ACTIVE,
    CHANGED,
    DORMANT,
    HELD,
    INACTIVE,
    IS_ACTIVE,
    LINE,
    SPARED_BY,
    STATE,
    Delta,
)
from etl.read.deactivations import marked_inactive
from etl.to_norce.masterdata.diff import diff
from tests.support.frames import PRICE, file_rows, keys, snapshot

KEY = list(PRICE.key)
OLD = "__old"
ALL_KEYS = [(p, pl_, q) for p in "ABCD" for pl_ in ("L1", "L2") for q in (1, 10)]

money = st.sampled_from([Decimal("79.2"), Decimal("79.2001"), Decimal("1")])
values = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["SEK", "EUR"]),
        "price_sale": money,
        "cost_purchase": st.none() | money,
        "price_catalog": st.none() | money,
        "is_active": st.sampled_from([None, None, True, False]),
    }
)


def wide_diff(old: pl.DataFrame, new: pl.DataFrame, full_export: bool) -> Delta:
    """The diff by a join of whole rows (what the narrow join must answer), no rejected rows."""
    kept = [c for c in old.columns if c not in KEY and c != STATE]
    fields = [c for c in kept if c != IS_ACTIVE]
    renamed = old.rename({c: c + OLD for c in [*kept, STATE]})
    joined = new.join(renamed, on=KEY, how="left", nulls_equal=True, maintain_order="left")
    state = pl.col(STATE + OLD)
    live, off = state.is_in([ACTIVE, HELD]), marked_inactive(new)
    differs = [pl.col(f).ne_missing(pl.col(f + OLD)) for f in fields]
    flags = pl.concat_list(
        [pl.when(d).then(pl.lit(f)) for d, f in zip(differs, fields, strict=True)]
    )
    changed = flags.list.drop_nulls().alias(CHANGED)
    columns = [*KEY, *kept, LINE]
    changes = joined.filter(live & ~off & pl.any_horizontal(differs)).select(*columns, changed)
    adds = joined.filter(state.is_null()).select(columns)
    reactivations = joined.filter((state == INACTIVE) & ~off).select(*columns, changed)
    returned = joined.filter((state == DORMANT) & ~off)
    if returned.height:
        adds = pl.concat([adds, returned.select(*columns, changed)], how="diagonal")
    shape = [c for c in old.columns if c != STATE]
    turned = joined.filter(live & off)
    removals = turned.select(*KEY, *[pl.col(c + OLD).alias(c) for c in kept]).select(shape)
    marked = turned.select(*KEY, pl.col(LINE).cast(pl.Int64))
    spared = old.select(KEY).clear().with_columns(pl.lit(None, pl.Int64).alias(SPARED_BY))
    if full_export:
        still = old.filter(pl.col(STATE).is_in([ACTIVE, HELD]))
        missing = still.join(new, on=KEY, how="anti", nulls_equal=True)
        removals = pl.concat([removals, missing.select(shape)], how="vertical")
    return Delta(adds, changes, reactivations, removals, removals.clear(), spared, marked)


@st.composite
def files(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, bool]:
    """(snapshot, file rows in a shuffled order, full export)."""
    old: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for part_no, price_list, quantity in ALL_KEYS:
        key = {"part_no": part_no, "price_list_code": price_list, "quantity_break": quantity}
        state = draw(st.sampled_from([None, ACTIVE, ACTIVE, HELD, INACTIVE, DORMANT]))
        was = draw(values)
        if state is not None:
            old.append({**key, **was, STATE: state})
        fate = draw(st.sampled_from(["absent", "same", "changed", "emptied"]))
        if fate == "same":
            new.append({**key, **was})
        elif fate == "changed":
            new.append({**key, **draw(values)})
        elif fate == "emptied":
            new.append({**key, **was, "cost_purchase": None, "price_catalog": None})
    order = draw(st.permutations(range(len(new))))
    return (
        snapshot(PRICE, old),
        file_rows(PRICE, [new[i] for i in order]),
        draw(st.booleans()),
    )


def frames(delta: Delta) -> list[pl.DataFrame]:
    return [delta.adds, delta.changes, delta.reactivations, delta.removals, delta.held]


@settings(max_examples=150, deadline=None)
@given(files())
def test_the_narrow_join_gives_the_wide_joins_delta(
    case: tuple[pl.DataFrame, pl.DataFrame, bool],
) -> None:
    old, new, full_export = case
    mine = diff(old, new, keys(PRICE, []), KEY, full_export)
    theirs = wide_diff(old, new, full_export)
    for got, want in zip(
        [*frames(mine), mine.spared, mine.marked],
        [*frames(theirs), theirs.spared, theirs.marked],
        strict=True,
    ):
        assert_frame_equal(got, want)


def test_a_changed_row_among_many_unchanged_is_found_with_its_fields() -> None:
    rows = [
        {"part_no": f"P{n:04d}", "price_list_code": "L1", "quantity_break": 1, "currency": "SEK"}
        | {"price_sale": Decimal("10"), "cost_purchase": None}
        for n in range(2000)
    ]
    old = snapshot(PRICE, rows)
    rows[1234] = rows[1234] | {"cost_purchase": Decimal("4")}
    delta = diff(old, file_rows(PRICE, rows[::-1]), keys(PRICE, []), KEY, True)
    assert delta.changes.select("part_no", CHANGED).rows() == [("P1234", ["cost_purchase"])]
    assert delta.adds.height == delta.removals.height == delta.reactivations.height == 0

"""The diff's faster ways pinned to the general ones, on generated snapshots and files.

`apply` given the match the diff made must give the next snapshot it gives matching again,
and the whole-snapshot field comparison what the part-wise one gives: with keys of three
parts and nulls in them, a snapshot holding a key twice, every state, rows the file marks
inactive, rejected keys, full and delta exports, files in the snapshot's order or not.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from etl.models import ACTIVE, DORMANT, HELD, INACTIVE, IS_ACTIVE, LINE, STATE
from etl.to_norce.masterdata.diff import apply, compared, diff, guard
from etl.to_norce.masterdata.fields_differ import parts_differ, whole_differs
from etl.to_norce.masterdata.old_rows import AT
from tests.support.frames import PRICE, file_rows, keys, snapshot

KEY = list(PRICE.key)
FIELDS = [f for f in PRICE.fields() if f not in KEY and f != IS_ACTIVE]

key_parts = st.tuples(
    st.sampled_from(["A", "B", "Å", None]),
    st.sampled_from(["L1", "L2", None]),
    st.sampled_from([1, 10, None]),
)
money = st.sampled_from([Decimal("79.2"), Decimal("79.2001"), Decimal("1")])
VALUES = ("currency", "price_sale", "cost_purchase", "price_catalog")
values = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["SEK", "EUR", "ÖRE"]),
        "price_sale": money,
        "cost_purchase": st.none() | money,
        "price_catalog": st.none() | money,
    }
)


def _row(key: tuple[Any, ...], more: dict[str, Any]) -> dict[str, Any]:
    return {**dict(zip(KEY, key, strict=True)), **more}


@st.composite
def runs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, bool]:
    """(snapshot, file rows, rejected keys, full export)."""
    # Repeats allowed: a snapshot written before the contract's key was narrowed.
    old_keys = draw(st.lists(key_parts, max_size=14))
    states = st.sampled_from([ACTIVE, ACTIVE, HELD, INACTIVE, DORMANT])
    old = [_row(k, {**draw(values), STATE: draw(states)}) for k in old_keys]
    new_keys = draw(st.lists(key_parts, unique=True, max_size=14))
    if draw(st.booleans()):  # the file in the snapshot's order, as an ERP exports run after run
        first = {k: i for i, k in reversed(list(enumerate(old_keys)))}
        new_keys.sort(key=lambda k: first.get(k, len(old_keys)))
    new = []
    for k in new_keys:
        same = [r for r in old if tuple(r[c] for c in KEY) == k]
        kept = {f: same[0][f] for f in VALUES} if same and draw(st.booleans()) else None
        flag = draw(st.sampled_from([None, None, True, False]))
        new.append(_row(k, {**(kept or draw(values)), IS_ACTIVE: flag}))
    rejected = draw(st.lists(key_parts, max_size=3))
    rejected_keys = keys(PRICE, [dict(zip(KEY, k, strict=True)) for k in rejected])
    return snapshot(PRICE, old), file_rows(PRICE, new), rejected_keys, draw(st.booleans())


SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(runs(), st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0]))
def test_apply_with_the_diffs_match_gives_the_same_next_snapshot(
    run: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, bool], most: int, ratio: float
) -> None:
    old, new, rejected, full = run
    delta, matched = compared(old, new, rejected, KEY, full)
    live = old.filter(pl.col(STATE).is_in([ACTIVE, HELD])).height
    assert matched.live == live
    delta, _ = guard(delta, live, new.height, most, ratio)
    rows = new.drop(LINE)
    truth = next_snapshot(old, rows, delta.removals, delta.held, full)
    assert_frame_equal(apply(old, rows, delta, KEY, full, matched), truth)
    assert_frame_equal(apply(old.lazy(), rows, delta, KEY, full, matched), truth)
    assert_frame_equal(apply(old, rows, delta, KEY, full), truth)


def next_snapshot(
    old: pl.DataFrame, new: pl.DataFrame, removals: pl.DataFrame, held: pl.DataFrame, full: bool
) -> pl.DataFrame:
    """apply's rules row by row: the file's rows active, then the snapshot's rows no row of
    the file carries (a hold released by a full export; a live one moved to inactive or held
    as the first removal or hold of its key says), then rows marked inactive that the
    snapshot never had, dormant."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in KEY)

    rows = new.to_dicts()
    off = [r[IS_ACTIVE] is False for r in rows]
    present = {key(r) for r, o in zip(rows, off, strict=True) if not o}
    known = {key(r) for r in old.to_dicts()}
    moves = [(key(r), INACTIVE) for r in removals.to_dicts()]
    moves += [(key(r), HELD) for r in held.to_dicts()]
    out = [{**r, STATE: ACTIVE} for r, o in zip(rows, off, strict=True) if not o]
    for r in old.to_dicts():
        if key(r) in present:
            continue
        state = ACTIVE if full and r[STATE] == HELD else r[STATE]
        to = [m for k, m in moves if k == key(r)]
        out.append({**r, STATE: to[0] if to and state in (ACTIVE, HELD) else state})
    out += [
        {**r, STATE: DORMANT} for r, o in zip(rows, off, strict=True) if o and key(r) not in known
    ]
    return pl.DataFrame(out, schema=old.schema, orient="row")


@SETTINGS
@given(runs(), st.integers(1, 4))
def test_whole_comparison_flags_what_the_part_wise_one_flags(
    run: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, bool], part_rows: int
) -> None:
    old, new, rejected, full = run
    _, matched = compared(old, new, rejected, KEY, full)
    at = matched.found.get_column(AT)
    if matched.found.height != new.height:  # a key twice in the snapshot: a row per pair
        new = new.select(pl.all().gather(matched.found.get_column("__row")))
    whole = whole_differs(old.lazy(), new, at, FIELDS)
    assert_series_equal(
        whole, parts_differ(old.lazy(), new, at, FIELDS, part_rows), check_names=False
    )
    truth = [
        at[i] is not None and any(new[f][i] != old[f][at[i]] for f in FIELDS)
        for i in range(new.height)
    ]
    assert whole.to_list() == truth


@settings(max_examples=40, deadline=None)
@given(runs(), st.lists(st.none() | st.integers(0, 13), max_size=14), st.integers(1, 4))
def test_both_comparisons_agree_for_any_positions(
    run: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, bool],
    positions: list[int | None],
    part_rows: int,
) -> None:
    """Positions repeated, out of order or null: the gather, the filter and the parts agree."""
    old, new, _, _ = run
    at = pl.Series(
        AT, [p % old.height if p is not None and old.height else None for p in positions]
    )
    new = (
        new.head(0)
        if not new.height
        else new.select(pl.all().gather(pl.arange(0, at.len(), eager=True) % new.height))
    )
    at = at.head(new.height).cast(pl.UInt32)
    whole = whole_differs(old.lazy(), new, at, FIELDS)
    assert_series_equal(
        whole, parts_differ(old.lazy(), new, at, FIELDS, part_rows), check_names=False
    )


def test_a_snapshot_read_from_its_file_gives_the_same_delta_and_next_snapshot(
    tmp_path: Path,
) -> None:
    """The scan of a written snapshot (three row groups, two parts) and the frame agree."""
    rows = [
        _row((f"P{i:04}", "L1", 1), {"currency": "SEK", "price_sale": Decimal(i)})
        for i in range(300)
    ]
    old = snapshot(PRICE, rows)
    path = tmp_path / "snapshot.parquet"
    old.write_parquet(path, row_group_size=100)
    changed = [{**r, "price_sale": Decimal(1)} if i % 7 == 0 else r for i, r in enumerate(rows[5:])]
    new = file_rows(PRICE, [*changed, _row(("N", "L1", 1), {"currency": "SEK", "price_sale": 1})])
    nothing = keys(PRICE, [])
    scan = pl.scan_parquet(path, glob=False)
    delta, matched = compared(scan, new, nothing, KEY, True)
    assert delta.changes.height == len(range(0, 295, 7))
    assert_frame_equal(delta.changes, diff(old, new, nothing, KEY, True).changes)
    nxt = apply(scan, new.drop(LINE), delta, KEY, True, matched)
    assert_frame_equal(nxt, apply(old, new.drop(LINE), delta, KEY, True))
    at = matched.found.get_column(AT)
    assert_series_equal(
        whole_differs(scan, new, at, FIELDS),
        parts_differ(scan, new, at, FIELDS, 64),
        check_names=False,
    )

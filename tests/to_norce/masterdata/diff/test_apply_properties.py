"""apply() as properties: random old snapshots, random files, random rejects and guard outcomes.

Keys come from a small alphabet and values from small sets, so adds, unchanged rows, changes,
reactivations, removals and held removals all happen in most examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.models import ACTIVE, CHANGED, HELD, INACTIVE, LINE, STATE, Delta
from etl.to_norce.masterdata.diff import apply, diff, guard
from tests.support.frames import PRICE, file_rows, keys, snapshot

Key = tuple[str, str, int]
KEY = list(PRICE.key)
FIELDS = [f for f in PRICE.fields() if f not in KEY]
ALL_KEYS: list[Key] = [(p, pl_, q) for p in "ABC" for pl_ in ("L1", "L2") for q in (1, 10)]

money = st.sampled_from([Decimal("79.2"), Decimal("79.2001"), Decimal("1"), Decimal("0.5")])
maybe_money = st.none() | money
values = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["SEK", "EUR"]),
        "price_sale": money,
        "cost_purchase": maybe_money,
        "cost_unit": maybe_money,
        "price_recommended": maybe_money,
        "price_previous": st.none(),
        "price_catalog": maybe_money,
        "is_active": st.none(),  # the flag's own rules: tests/to_norce/masterdata/diff/test_active_flag.py
    }
)


@dataclass(frozen=True)
class Case:
    old: dict[Key, dict[str, Any]]  # values plus STATE
    new: dict[Key, dict[str, Any]]
    rejected: frozenset[Key]
    full_export: bool
    max_removals: int
    max_ratio: float


@st.composite
def cases(draw: st.DrawFn) -> Case:
    old: dict[Key, dict[str, Any]] = {}
    new: dict[Key, dict[str, Any]] = {}
    rejected = set()
    for k in ALL_KEYS:
        state = draw(st.sampled_from([None, ACTIVE, ACTIVE, HELD, INACTIVE]))
        if state is not None:
            old[k] = {**draw(values), STATE: state}
        fate = draw(st.sampled_from(["absent", "same", "new", "rejected"]))
        if fate == "same" and k in old:
            new[k] = {f: old[k][f] for f in FIELDS}
        elif fate in ("same", "new"):
            new[k] = draw(values)
        elif fate == "rejected":
            rejected.add(k)
    return Case(
        old,
        new,
        frozenset(rejected),
        draw(st.booleans()),
        draw(st.integers(0, 2)),
        draw(st.sampled_from([0.0, 0.25, 1.0])),
    )


def rows(table: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**dict(zip(KEY, k, strict=True)), **v} for k, v in table.items()]


@dataclass(frozen=True)
class Run:
    old: pl.DataFrame
    new: pl.DataFrame
    rejected: pl.DataFrame
    delta: Delta
    result: pl.DataFrame


def run(case: Case) -> Run:
    old = snapshot(PRICE, rows(case.old))
    new = file_rows(PRICE, rows(case.new))
    rejected = keys(PRICE, [dict(zip(KEY, k, strict=True)) for k in sorted(case.rejected)])
    live = old.filter(pl.col(STATE).is_in([ACTIVE, HELD])).height
    delta = diff(old, new, rejected, PRICE.key, case.full_export)
    delta, _ = guard(delta, live, new.height, case.max_removals, case.max_ratio)
    result = apply(old, new.drop(LINE), delta, PRICE.key)
    return Run(old, new, rejected, delta, result)


def by_key(frame: pl.DataFrame) -> dict[Key, dict[str, Any]]:
    out = {}
    for r in frame.iter_rows(named=True):
        k = (r["part_no"], r["price_list_code"], r["quantity_break"])
        assert k not in out, f"duplicate key {k}"
        out[k] = {f: v for f, v in r.items() if f not in (*KEY, LINE, CHANGED)}
    return out


def key_set(frame: pl.DataFrame) -> set[Key]:
    return set(by_key(frame))


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(cases())
def test_every_new_row_is_active_with_its_new_values(case: Case) -> None:
    r = run(case)
    result = by_key(r.result)
    assert r.result.columns == r.old.columns
    for k, v in case.new.items():
        assert result[k] == {**v, STATE: ACTIVE}


@SETTINGS
@given(cases())
def test_rejected_keys_keep_their_old_values_and_state(case: Case) -> None:
    result = by_key(run(case).result)
    for k in case.rejected:
        if k in case.old:
            assert result[k] == unheld(case.old[k])
        else:
            assert k not in result


def unheld(row: dict[str, Any]) -> dict[str, Any]:
    """A row this run neither removes nor holds: a hold of an earlier run no longer covers it."""
    return {**row, STATE: ACTIVE} if row[STATE] == HELD else row


@SETTINGS
@given(cases())
def test_removed_become_inactive_held_become_held_the_rest_keep_theirs(case: Case) -> None:
    r = run(case)
    result = by_key(r.result)
    removed, held = key_set(r.delta.removals), key_set(r.delta.held)
    assert not removed & held
    assert set(result) == set(case.old) | set(case.new)
    for k in removed:
        assert result[k] == {**case.old[k], STATE: INACTIVE}
    for k in held:
        assert result[k] == {**case.old[k], STATE: HELD}
    for k in set(case.old) - set(case.new) - removed - held:
        assert result[k] == unheld(case.old[k])


@SETTINGS
@given(cases())
def test_changed_lists_exactly_the_fields_that_differ(case: Case) -> None:
    r = run(case)
    for row in r.delta.changes.iter_rows(named=True):
        k = (row["part_no"], row["price_list_code"], row["quantity_break"])
        differ = sorted(f for f in FIELDS if row[f] != case.old[k][f])
        assert sorted(row[CHANGED]) == differ and differ


def norce_after(case: Case, delta: Delta) -> dict[Key, dict[str, Any]]:
    """What Norce holds (live rows) after it applies the delta to what it held before."""
    norce = {k: {f: v[f] for f in FIELDS} for k, v in case.old.items() if v[STATE] != INACTIVE}
    for k, v in by_key(delta.adds).items():
        assert k not in norce and k not in case.old
        norce[k] = v
    for row in delta.changes.iter_rows(named=True):
        k = (row["part_no"], row["price_list_code"], row["quantity_break"])
        assert k in norce
        norce[k] = {**norce[k], **{f: row[f] for f in row[CHANGED]}}
    for k, v in by_key(delta.reactivations).items():
        assert k not in norce and case.old[k][STATE] == INACTIVE
        norce[k] = v
    for k in key_set(delta.removals):
        del norce[k]
    return norce


@SETTINGS
@given(cases())
def test_norce_view_is_the_file_plus_the_carried_rows(case: Case) -> None:
    r = run(case)
    norce = norce_after(case, r.delta)
    live_old = {k: v for k, v in case.old.items() if v[STATE] != INACTIVE}
    carried = {k for k in live_old if k not in case.new}
    if case.full_export:
        # only rejected keys and held removals survive a full export
        assert carried - set(case.rejected) == key_set(r.delta.removals) | key_set(r.delta.held)
        carried = (carried & case.rejected) | key_set(r.delta.held)
    expected = {**{k: {f: live_old[k][f] for f in FIELDS} for k in carried}, **case.new}
    assert norce == expected
    # and the next snapshot's live rows are exactly what Norce holds
    live = r.result.filter(pl.col(STATE) != INACTIVE).drop(STATE)
    assert by_key(live) == norce


@SETTINGS
@given(cases())
def test_rerunning_the_same_file_sends_nothing(case: Case) -> None:
    r = run(case)
    again = diff(r.result, r.new, r.rejected, PRICE.key, case.full_export)
    assert not again.adds.height and not again.changes.height and not again.reactivations.height
    # held removals wait for approval and come up again; nothing else does
    assert key_set(again.removals) == key_set(r.delta.held)
    assert not again.held.height

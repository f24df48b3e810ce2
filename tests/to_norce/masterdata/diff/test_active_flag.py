"""An `is_active` column: a row the ERP marks inactive is a removal, never a field change.

Live in the snapshot and marked false: a deactivation, counted by the guard like a row missing
from a full export. Never sent before and marked false: an add that stays inactive. Already
inactive: nothing. Back to true or empty: a reactivation. The cell reads true/false and 1/0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.models import (
    ACTIVE,
    CHANGED,
    DORMANT,
    HELD,
    INACTIVE,
    IS_ACTIVE,
    LINE,
    STATE,
    Delta,
    Validated,
)
from etl.to_norce.feed import parse_and_validate
from etl.to_norce.masterdata.diff import apply, diff, guard
from tests.fixtures.feeds import contract_from
from tests.support.frames import PRICE, file_rows, keys, price, records, snapshot

GONE = {STATE: INACTIVE}
OFF = {IS_ACTIVE: False}


def run(
    old: list[dict[str, Any]], new: list[dict[str, Any]], full_export: bool = True
) -> tuple[Delta, pl.DataFrame]:
    """The delta and the next snapshot, the guard off."""
    before, rows = snapshot(PRICE, old), file_rows(PRICE, new)
    delta = diff(before, rows, keys(PRICE, []), PRICE.key, full_export)
    delta, _ = guard(delta, before.height, rows.height, 1_000, 1.0)
    return delta, apply(before, rows.drop(LINE), delta, PRICE.key, full_export)


def states(snapshot_: pl.DataFrame) -> dict[str, str]:
    return dict(snapshot_.select("part_no", STATE).iter_rows())


def parts(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["part_no"].to_list())


def test_a_live_row_marked_inactive_is_a_removal_that_names_its_line() -> None:
    delta, after = run(
        [price("A", "10"), price("B", "20")],
        [price("A", "10"), price("B", "25", **OFF)],
    )

    assert parts(delta.removals) == ["B"] and not delta.changes.height
    assert delta.marked.select("part_no", LINE).rows() == [("B", 3)]
    # Norce keeps the price it had: the snapshot keeps it too, now inactive.
    b = after.filter(pl.col("part_no") == "B").row(0, named=True)
    assert (b[STATE], str(b["price_sale"])) == (INACTIVE, "20.0000")


def test_a_row_missing_from_the_file_is_a_removal_without_a_line() -> None:
    delta, _ = run([price("A"), price("B"), price("C")], [price("A"), price("B", **OFF)])

    assert parts(delta.removals) == ["B", "C"]
    assert delta.marked.select("part_no", LINE).rows() == [("B", 3)]


def test_a_new_key_marked_inactive_is_an_add_that_stays_inactive() -> None:
    delta, after = run([price("A")], [price("A"), price("N", "5", **OFF)])

    assert parts(delta.adds) == ["N"]
    assert delta.adds[IS_ACTIVE].to_list() == [False]
    assert not delta.removals.height and not delta.reactivations.height
    assert states(after) == {"A": ACTIVE, "N": DORMANT}


def test_an_inactive_row_marked_inactive_again_sends_nothing() -> None:
    delta, after = run(
        [price("A"), price("B", "20", **GONE)], [price("A"), price("B", "21", **OFF)]
    )

    assert delta.is_empty()
    assert states(after) == {"A": ACTIVE, "B": INACTIVE}


def test_an_inactive_row_marked_active_or_left_empty_comes_back() -> None:
    old = [price("A", **GONE), price("B", **GONE)]
    delta, after = run(old, [price("A", **{IS_ACTIVE: True}), price("B")])

    assert parts(delta.reactivations) == ["A", "B"]
    assert states(after) == {"A": ACTIVE, "B": ACTIVE}


def test_the_flag_alone_is_never_a_field_change() -> None:
    old = [price("A", **{IS_ACTIVE: True}), price("B")]
    delta, _ = run(old, [price("A"), price("B", **{IS_ACTIVE: True})])

    assert delta.is_empty()


def test_a_delta_export_removes_by_the_flag_only() -> None:
    delta, after = run([price("A"), price("B"), price("C")], [price("B", **OFF)], False)

    assert parts(delta.removals) == ["B"]
    assert states(after) == {"A": ACTIVE, "B": INACTIVE, "C": ACTIVE}


def test_every_live_row_marked_inactive_is_held_like_a_mass_removal() -> None:
    old = snapshot(PRICE, [price(f"P{i:02}") for i in range(20)])
    rows = file_rows(PRICE, [price(f"P{i:02}", **OFF) for i in range(20)])
    delta = diff(old, rows, keys(PRICE, []), PRICE.key, True)

    held, reason = guard(delta, 20, 20, max_removals=10, max_ratio=0.1)

    assert reason is not None and "20 removals" in reason
    assert held.held.height == 20 and not held.removals.height
    assert held.marked[LINE].to_list() == list(range(2, 22))
    after = apply(old, rows.drop(LINE), held, PRICE.key)
    assert set(after[STATE].to_list()) == {HELD}
    # Held rows keep what Norce has: approving sends them as any removal.
    assert records(after, STATE, IS_ACTIVE) == records(old, STATE, IS_ACTIVE)


def test_a_full_export_marking_every_row_inactive_is_held_under_the_thresholds() -> None:
    old = snapshot(PRICE, [price("A"), price("B"), price("C")])
    rows = file_rows(PRICE, [price(p, **OFF) for p in "ABC"])
    delta = diff(old, rows, keys(PRICE, []), PRICE.key, True)

    held, reason = guard(delta, 3, 3, max_removals=10, max_ratio=0.1, active_rows=0)

    assert held.held.height == 3 and reason is not None
    assert "every valid row of the file is marked inactive" in reason
    # One active row left: the thresholds decide, as for any removals.
    assert guard(delta, 3, 4, max_removals=10, max_ratio=0.1, active_rows=1)[1] is None


Flagged = tuple[str | None, bool | str | None, bool]  # old state, the file's flag, new price


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, ACTIVE, HELD, INACTIVE, DORMANT]),
            st.sampled_from([None, True, False, "absent"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_a_row_marked_inactive_ends_inactive_and_is_never_a_change(
    rows: list[Flagged], full_export: bool
) -> None:
    old = [price(f"P{n}", "10", **{STATE: s}) for n, (s, _, _) in enumerate(rows) if s]
    new = [
        price(f"P{n}", "11" if other else "10", **{IS_ACTIVE: flag})
        for n, (_, flag, other) in enumerate(rows)
        if flag != "absent"
    ]
    delta, after = run(old, new, full_export)

    marked = {f"P{n}" for n, (_, flag, _) in enumerate(rows) if flag is False}
    live = {f"P{n}" for n, (s, _, _) in enumerate(rows) if s in (ACTIVE, HELD)}
    assert not marked & set(parts(delta.changes) + parts(delta.reactivations))
    assert marked & live == set(parts(delta.removals)) & marked == set(delta.marked["part_no"])
    assert all(IS_ACTIVE not in c for c in delta.changes[CHANGED].to_list())
    assert all(s in (INACTIVE, DORMANT) for p, s in states(after).items() if p in marked)
    # A row we only ever sent inactive comes back as an add, never as a reactivation.
    back = {f"P{n}" for n, (s, flag, _) in enumerate(rows) if s == DORMANT and flag is not False}
    back -= {f"P{n}" for n, (_, flag, _) in enumerate(rows) if flag == "absent"}
    assert back <= set(parts(delta.adds)) and not back & set(parts(delta.reactivations))


FLAGGED_PRICES = """
[feed]
name = "prices"
entity = "price"

[format]
type = "csv"

[columns]
"ItemNo" = "part_no"
"Currency" = "currency"
"Price" = "price_sale"
"Active" = "is_active"

[defaults]
price_list_code = "L1"
quantity_break = "1"
{extra}
"""


def read_flags(tmp_path: Path, cells: list[str], extra: str = "") -> Validated:
    contract = contract_from(FLAGGED_PRICES.format(extra=extra), tmp_path / "schemas")
    rows = "".join(f"P{n},SEK,10,{cell}\n" for n, cell in enumerate(cells))
    path = tmp_path / "prices.csv"
    path.write_text("ItemNo,Currency,Price,Active\n" + rows, encoding="utf-8")
    return parse_and_validate(path, contract, tmp_path / "scratch")


def test_the_flag_reads_true_false_and_one_zero_in_any_case_and_empty_says_nothing(
    tmp_path: Path,
) -> None:
    validated = read_flags(tmp_path, ["1", "0", "true", "FALSE", "True", ""])

    assert validated.valid[IS_ACTIVE].to_list() == [True, False, True, False, True, None]


def test_another_spelling_is_a_type_rejection_that_says_how_to_map_it(tmp_path: Path) -> None:
    validated = read_flags(tmp_path, ["1", "J", "yes"])

    assert validated.valid["part_no"].to_list() == ["P0"]
    [first, second] = validated.rejections.to_dicts()
    assert (first["code"], first["field"], first["source_column"]) == ("type", IS_ACTIVE, "Active")
    assert first["message"] == (
        "'J' is not read as true or false for " + PRICE.labels[IS_ACTIVE] + ": write true or "
        "false (any letter case) or 1 or 0, or let the feed contract translate the ERP's own "
        'spellings (J/N, Yes/No): [values.is_active] map = { "J" = "true", "N" = "false" }'
    )
    assert second["value"] == "yes"


def test_a_value_map_translates_the_erps_own_spelling(tmp_path: Path) -> None:
    extra = '[values.is_active]\nmap = { "J" = "true", "N" = "false" }'
    validated = read_flags(tmp_path, ["J", "N"], extra)

    assert validated.valid[IS_ACTIVE].to_list() == [True, False]


def test_a_dormant_row_back_in_the_file_is_an_add_that_clears_what_it_emptied() -> None:
    old = [price("A"), price("D", "20", price_catalog="30", **{STATE: DORMANT})]
    delta, after = run(old, [price("A"), price("D", "21")])

    assert parts(delta.adds) == ["D"] and not delta.reactivations.height
    assert sorted(delta.adds[CHANGED].to_list()[0]) == ["price_catalog", "price_sale"]
    assert states(after) == {"A": ACTIVE, "D": ACTIVE}


def test_a_dormant_row_marked_inactive_again_or_missing_is_nothing() -> None:
    old = [price("A"), price("D", **{STATE: DORMANT}), price("E", **{STATE: DORMANT})]
    delta, after = run(old, [price("A"), price("D", "1", **OFF)])

    assert delta.is_empty()
    assert states(after) == {"A": ACTIVE, "D": DORMANT, "E": DORMANT}


def test_a_held_row_a_delta_export_does_not_name_stays_held() -> None:
    old = [price("A"), price("B", **{STATE: HELD}), price("C", **{STATE: HELD})]
    delta, after = run(old, [price("A", "1"), price("B", "2")], full_export=False)

    assert parts(delta.changes) == ["A", "B"] and not delta.removals.height
    assert states(after) == {"A": ACTIVE, "B": ACTIVE, "C": HELD}
    # A full export re-states every row: a held row back in it is active again.
    assert states(run(old, [price("A"), price("B"), price("C")])[1]) == dict.fromkeys("ABC", ACTIVE)

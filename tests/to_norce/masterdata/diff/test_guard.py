"""guard(): removals are held only over both thresholds, or when the file has no valid rows."""

from __future__ import annotations

import pytest

from etl.models import Delta
from etl.to_norce.masterdata.diff import diff, guard
from tests.support.frames import PRICE, file_rows, keys, price, snapshot


def planned(live: int, kept: int, changed: int = 0) -> Delta:
    """A full export of `kept` of `live` rows (the first `changed` of them with a new price)."""
    old = snapshot(PRICE, [price(f"P{i}") for i in range(live)])
    rows = [price(f"P{i}", "1" if i < changed else "79.20") for i in range(kept)]
    return diff(old, file_rows(PRICE, [*rows, price("NEW")]), keys(PRICE, []), PRICE.key, True)


def held_parts(delta: Delta) -> list[str]:
    return sorted(delta.held["part_no"].to_list())


@pytest.mark.parametrize(
    ("live", "kept", "max_removals", "max_ratio", "held"),
    [
        (100, 50, 10, 0.2, True),  # 50 > 10 and 50% > 20%
        (100, 50, 60, 0.2, False),  # over the ratio only
        (100, 50, 10, 0.6, False),  # over the count only
        (100, 90, 10, 0.1, False),  # exactly at both: not over
        (100, 89, 10, 0.1, True),  # one more than both
    ],
)
def test_held_only_over_both_thresholds(
    live: int, kept: int, max_removals: int, max_ratio: float, held: bool
) -> None:
    delta = planned(live, kept)
    out, reason = guard(delta, live, kept + 1, max_removals, max_ratio)
    gone = sorted(f"P{i}" for i in range(kept, live))
    if held:
        assert held_parts(out) == gone and not out.removals.height
        assert reason is not None
    else:
        assert sorted(out.removals["part_no"].to_list()) == gone and not out.held.height
        assert reason is None and out is delta


def test_empty_file_holds_every_removal_whatever_the_thresholds() -> None:
    old = snapshot(PRICE, [price("A"), price("B")])
    delta = diff(old, file_rows(PRICE, []), keys(PRICE, []), PRICE.key, True)
    out, reason = guard(delta, 2, 0, max_removals=1_000_000, max_ratio=1.0)
    assert held_parts(out) == ["A", "B"] and not out.removals.height
    assert reason is not None
    assert "no valid rows" in reason and "2 removals held" in reason


def test_adds_and_changes_pass_when_removals_are_held() -> None:
    delta = planned(100, 40, changed=3)
    out, reason = guard(delta, 100, 41, 5, 0.05)
    assert reason is not None
    assert out.adds.equals(delta.adds) and out.changes.equals(delta.changes)
    assert out.reactivations.equals(delta.reactivations)
    assert out.adds["part_no"].to_list() == ["NEW"] and out.changes.height == 3
    assert out.held.equals(delta.removals) and not out.removals.height
    assert not out.is_empty()  # adds and changes still go out


def test_reason_says_how_many_of_how_many_and_which_thresholds() -> None:
    _, reason = guard(planned(200, 50), 200, 51, 25, 0.1)
    assert reason is not None
    for part in ("150 removals", "75.0%", "of 200", "more than 25", "more than 10%"):
        assert part in reason, (part, reason)


def test_no_removals_no_reason() -> None:
    delta = planned(10, 10, changed=2)
    assert guard(delta, 10, 11, 0, 0.0) == (delta, None)
    empty = diff(snapshot(PRICE, []), file_rows(PRICE, []), keys(PRICE, []), PRICE.key, True)
    assert guard(empty, 0, 0, 0, 0.0) == (empty, None)


def test_a_row_without_its_key_holds_only_the_rows_missing_from_the_file() -> None:
    # B is marked inactive on line 3 of the file: whatever the unkeyed line 9 was, it was
    # not B. C left the file: line 9 may be C, so C waits.
    old = snapshot(PRICE, [price(p) for p in "ABCDEFGHIJ"])
    rows = [price(p) for p in "ADEFGHIJ"]
    rows.insert(1, price("B", is_active=False))
    delta = diff(old, file_rows(PRICE, rows), keys(PRICE, []), PRICE.key, True)

    out, reason = guard(delta, 10, 9, 1_000, 1.0, unkeyed_lines=(9,))

    assert sorted(out.removals["part_no"].to_list()) == ["B"]
    assert held_parts(out) == ["C"]
    assert reason is not None and "any of the 1 removals missing from the file" in reason
    assert out.marked["part_no"].to_list() == ["B"]


def test_a_row_without_its_key_holds_nothing_when_every_removal_is_marked() -> None:
    old = snapshot(PRICE, [price(p) for p in "ABC"])
    rows = [price("A"), price("B", is_active=False), price("C")]
    delta = diff(old, file_rows(PRICE, rows), keys(PRICE, []), PRICE.key, True)

    out, reason = guard(delta, 3, 3, 1_000, 1.0, unkeyed_lines=(5,))

    assert reason is None and out.removals["part_no"].to_list() == ["B"]


def test_the_thresholds_still_count_marked_and_missing_removals_together() -> None:
    old = snapshot(PRICE, [price(p) for p in "ABCD"])
    rows = [price("A"), price("B", is_active=False)]
    delta = diff(old, file_rows(PRICE, rows), keys(PRICE, []), PRICE.key, True)

    out, reason = guard(delta, 4, 2, 1, 0.1, unkeyed_lines=(5,))

    assert reason is not None and "3 removals" in reason
    assert held_parts(out) == ["B", "C", "D"] and not out.removals.height

"""diff(): adds, changes with exactly the changed fields, reactivations and removal candidates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from etl.models import CHANGED, HELD, INACTIVE, LINE, STATE
from etl.state.snapshots import empty_snapshot
from etl.to_norce.masterdata.diff import diff
from tests.support.frames import (
    ONHAND,
    PRICE,
    PRODUCT,
    file_rows,
    keys,
    onhand,
    price,
    product,
    records,
    snapshot,
)

NO_KEYS = keys(PRICE, [])


def changed(frame: pl.DataFrame) -> dict[str, list[str]]:
    """part_no -> sorted changed fields."""
    return {r["part_no"]: sorted(r[CHANGED]) for r in frame.iter_rows(named=True)}


def test_first_run_everything_is_an_add() -> None:
    new = file_rows(PRICE, [price("A"), price("B")])
    delta = diff(empty_snapshot(PRICE.fields()), new, NO_KEYS, PRICE.key, True)
    assert delta.counts() == {
        "adds": 2,
        "changes": 0,
        "reactivations": 0,
        "removals": 0,
        "held": 0,
        "spared": 0,
    }
    assert records(delta.adds) == records(new)


def test_unchanged_rows_produce_nothing() -> None:
    rows = [price("A", cost_purchase="31.5"), price("B")]
    delta = diff(snapshot(PRICE, rows), file_rows(PRICE, rows), NO_KEYS, PRICE.key, True)
    assert delta.is_empty()
    assert delta.counts() == dict.fromkeys(delta.counts(), 0)


def test_changes_list_exactly_the_fields_that_differ() -> None:
    old = snapshot(PRICE, [price("A"), price("B", cost_purchase="1"), price("C")])
    new = file_rows(
        PRICE,
        [price("A", "80"), price("B", "79.2", cost_purchase="2", price_catalog="9"), price("C")],
    )
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    assert changed(delta.changes) == {
        "A": ["price_sale"],
        "B": ["cost_purchase", "price_catalog"],
    }
    # the change carries the new values and the source line
    a = delta.changes.filter(pl.col("part_no") == "A").row(0, named=True)
    assert a["price_sale"] == Decimal("80") and a[LINE] == 2
    assert not delta.adds.height and not delta.removals.height


@pytest.mark.parametrize(
    ("before", "after", "is_change"),
    [
        (None, "31.5", True),
        ("31.5", None, True),
        (None, None, False),
        ("31.5", "31.50", False),  # same decimal, other spelling
        ("31.5", "31.5001", True),  # smallest step at scale 4
        ("0", None, True),  # zero is a value, not a null
    ],
)
def test_nulls_and_decimals_compare_by_value(
    before: str | None, after: str | None, is_change: bool
) -> None:
    old = snapshot(PRICE, [price("A", cost_purchase=before)])
    new = file_rows(PRICE, [price("A", cost_purchase=after)])
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    assert changed(delta.changes) == ({"A": ["cost_purchase"]} if is_change else {})


def test_null_dates_and_strings_compare_correctly() -> None:
    day = dt.date(2026, 11, 20)
    old = snapshot(
        ONHAND,
        [
            onhand("A"),
            onhand("B", next_delivery_date=day),
            onhand("C"),
            onhand("D", lead_time_days=3),
        ],
    )
    new = file_rows(
        ONHAND,
        [
            onhand("A", next_delivery_date=day),
            onhand("B"),
            onhand("C"),
            onhand("D", lead_time_days=3),
        ],
    )
    delta = diff(old, new, keys(ONHAND, []), ONHAND.key, True)
    assert changed(delta.changes) == {"A": ["next_delivery_date"], "B": ["next_delivery_date"]}
    old_p = snapshot(PRODUCT, [product("A", description="x"), product("B"), product("C")])
    new_p = file_rows(PRODUCT, [product("A"), product("B", description=""), product("C")])
    delta_p = diff(old_p, new_p, keys(PRODUCT, []), PRODUCT.key, True)
    assert changed(delta_p.changes) == {"A": ["description"], "B": ["description"]}


def test_composite_price_key_tells_lists_and_breaks_apart() -> None:
    old = snapshot(
        PRICE,
        [
            price("A", price_list_code="L1", quantity_break=1),
            price("A", price_list_code="L2", quantity_break=1),
            price("A", price_list_code="L1", quantity_break=10),
        ],
    )
    new = file_rows(
        PRICE,
        [
            price("A", "1", price_list_code="L1", quantity_break=1),  # change
            price("A", price_list_code="L2", quantity_break=1),  # unchanged
            price("A", price_list_code="L2", quantity_break=10),  # add
        ],
    )
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    key = ["part_no", "price_list_code", "quantity_break"]
    assert delta.changes.select(key).rows() == [("A", "L1", 1)]
    assert delta.adds.select(key).rows() == [("A", "L2", 10)]
    assert delta.removals.select(key).rows() == [("A", "L1", 10)]


def test_composite_onhand_key_tells_warehouses_and_locations_apart() -> None:
    old = snapshot(
        ONHAND,
        [onhand("A"), onhand("A", location_code="B2"), onhand("A", warehouse_code="EAST")],
    )
    new = file_rows(
        ONHAND,
        [onhand("A", "6"), onhand("A", location_code="B2"), onhand("A", location_code="C3")],
    )
    delta = diff(old, new, keys(ONHAND, []), ONHAND.key, True)
    key = ["part_no", "warehouse_code", "location_code"]
    assert delta.changes.select(key).rows() == [("A", "MAIN", "A1")]
    assert delta.adds.select(key).rows() == [("A", "MAIN", "C3")]
    assert delta.removals.select(key).rows() == [("A", "EAST", "A1")]


def test_removals_only_for_full_exports() -> None:
    old = snapshot(PRICE, [price("A"), price("B")])
    new = file_rows(PRICE, [price("A")])
    full = diff(old, new, NO_KEYS, PRICE.key, True)
    assert records(full.removals) == records(old.filter(pl.col("part_no") == "B"), STATE)
    assert STATE not in full.removals.columns
    partial = diff(old, new, NO_KEYS, PRICE.key, False)
    assert partial.is_empty() and not partial.held.height


def test_rejected_keys_are_neither_changes_nor_removals() -> None:
    old = snapshot(PRICE, [price("A"), price("B"), price("C")])
    # B's row had a typo and was rejected; C is really gone
    new = file_rows(PRICE, [price("A")])
    delta = diff(old, new, keys(PRICE, [price("B")]), PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["C"]
    assert not delta.changes.height and not delta.adds.height and not delta.held.height


def test_rejected_key_on_another_price_list_does_not_protect_this_one() -> None:
    old = snapshot(PRICE, [price("A"), price("B")])
    rejected = keys(PRICE, [price("B", price_list_code="L2")])
    delta = diff(old, file_rows(PRICE, [price("A")]), rejected, PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["B"]


def partly_read(line: int) -> pl.DataFrame:
    """The file's row for A/L1 on `line`, with an unreadable quantity break."""
    return pl.DataFrame(
        {"part_no": ["A"], "price_list_code": ["L1"], "quantity_break": [None], LINE: [line]},
        schema={**{k: PRICE.fields()[k] for k in PRICE.key}, LINE: pl.Int64},
    )


def test_a_rejected_row_with_a_partly_unreadable_key_spares_what_it_may_stand_for() -> None:
    # The file's row for A/L1 had an unreadable quantity break: either old break may be meant.
    old = snapshot(PRICE, [price("A", quantity_break=1), price("A", quantity_break=5), price("B")])
    delta = diff(old, file_rows(PRICE, []), partly_read(7), PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["B"]
    assert sorted(delta.spared.rows()) == [("A", "L1", 1, 7), ("A", "L1", 5, 7)]


def test_a_full_key_and_a_partial_one_spare_the_same_rows_in_any_order() -> None:
    old = snapshot(PRICE, [price("X", quantity_break=1), price("X", quantity_break=5), price("Z")])
    full = keys(PRICE, [price("X", quantity_break=1)]).with_columns(pl.lit(3, pl.Int64).alias(LINE))
    partial = partly_read(4).with_columns(pl.lit("X").alias("part_no"))
    for rejected in (pl.concat([full, partial]), pl.concat([partial, full])):
        delta = diff(old, file_rows(PRICE, []), rejected, PRICE.key, True)
        assert delta.removals["part_no"].to_list() == ["Z"]
        # the full key names its row; the partial one the break it could not read
        assert sorted(delta.spared.rows()) == [("X", "L1", 1, 3), ("X", "L1", 5, 4)]


def test_a_rejected_row_without_its_first_key_part_spares_nothing() -> None:
    # An empty SKU with its price list read: it names no SKU, so it is no evidence for one
    # (validate counts it as unkeyed and the guard holds the run's removals instead).
    old = snapshot(PRICE, [price("A"), price("B")])
    rejected = keys(PRICE, [price("A")]).with_columns(pl.lit(None, pl.String).alias("part_no"))
    delta = diff(old, file_rows(PRICE, [price("A")]), rejected, PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["B"] and not delta.spared.height


def test_a_rejected_row_with_no_readable_key_protects_nothing() -> None:
    old = snapshot(PRICE, [price("A"), price("B")])
    rejected = pl.DataFrame(
        {"part_no": [None], "price_list_code": [None], "quantity_break": [None]},
        schema={k: PRICE.fields()[k] for k in PRICE.key},
    )
    delta = diff(old, file_rows(PRICE, [price("A")]), rejected, PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["B"]


def test_inactive_rows_coming_back_are_reactivations() -> None:
    old = snapshot(
        PRICE, [price("A", **{STATE: INACTIVE}), price("B", "1", **{STATE: INACTIVE}), price("C")]
    )
    new = file_rows(PRICE, [price("A"), price("B", "2"), price("C")])
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    # the whole new row goes back, changed or not; never as an add or a change
    assert records(delta.reactivations, LINE, CHANGED) == records(
        file_rows(PRICE, [price("A"), price("B", "2")]), LINE
    )
    # ...with the fields that differ from the row as it was last accepted
    assert dict(delta.reactivations.select("part_no", CHANGED).rows()) == {
        "A": [],
        "B": ["price_sale"],
    }
    assert not delta.adds.height and not delta.changes.height


def test_inactive_rows_still_missing_are_not_removed_again() -> None:
    old = snapshot(PRICE, [price("A"), price("B", **{STATE: INACTIVE})])
    delta = diff(old, file_rows(PRICE, [price("A")]), NO_KEYS, PRICE.key, True)
    assert delta.is_empty()


def test_held_rows_still_missing_are_removal_candidates_again() -> None:
    old = snapshot(PRICE, [price("A"), price("B", **{STATE: HELD})])
    delta = diff(old, file_rows(PRICE, [price("A")]), NO_KEYS, PRICE.key, True)
    assert delta.removals["part_no"].to_list() == ["B"]


def test_held_rows_that_come_back_are_live_not_reactivated() -> None:
    # Norce never saw the held removal, so a held row is still active there
    old = snapshot(PRICE, [price("A", **{STATE: HELD}), price("B", **{STATE: HELD})])
    new = file_rows(PRICE, [price("A"), price("B", "1")])
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    assert changed(delta.changes) == {"B": ["price_sale"]}
    assert not delta.reactivations.height and not delta.adds.height


def test_changes_and_adds_keep_the_file_order_of_columns_and_lines() -> None:
    old = snapshot(PRICE, [price("A")])
    new = file_rows(PRICE, [price("B"), price("A", "1")])
    delta = diff(old, new, NO_KEYS, PRICE.key, True)
    assert delta.adds.columns == [*PRICE.fields(), LINE]
    assert delta.changes.columns == [*PRICE.fields(), LINE, CHANGED]
    assert delta.adds[LINE].to_list() == [2] and delta.changes[LINE].to_list() == [3]

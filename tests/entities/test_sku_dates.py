"""Sku StartDate/StopDate: sent in UTC as fields 23/24, kept by snapshots written before them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from etl.entities.calls import NorceCall
from etl.models import CHANGED, STATE
from etl.state.snapshots import SnapshotStore
from etl.to_norce.masterdata.diff import apply, diff
from tests.support.entity_scenarios import build
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot

START = dt.datetime(2026, 5, 31, 22, 0, tzinfo=dt.UTC)  # midnight, 1 June, in Stockholm
STOP = dt.datetime(2027, 1, 1, 6, 30, 15, tzinfo=dt.UTC)


def calls_for(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[NorceCall]:
    delta = diff(
        snapshot(PRODUCT, old), file_rows(PRODUCT, new), keys(PRODUCT, []), PRODUCT.key, True
    )
    return build(PRODUCT, delta)


def skus(call: NorceCall) -> dict[str, dict[str, Any]]:
    return {i["Variants"][0]["Skus"][0]["PartNo"]: i["Variants"][0]["Skus"][0] for i in call.items}


def test_dates_go_out_in_utc_as_norce_writes_a_datetime_with_fields_23_and_24() -> None:
    (call,) = calls_for([], [product("A", start_date=START, stop_date=STOP)])

    assert {23, 24} <= set(call.header["SkuFieldsThatAreSet"])
    assert skus(call)["A"]["StartDate"] == "2026-05-31T22:00:00"
    assert skus(call)["A"]["StopDate"] == "2027-01-01T06:30:15"
    assert b'"StartDate":"2026-05-31T22:00:00"' in call.body_bytes()


def test_an_add_lists_a_date_only_for_the_skus_that_have_one() -> None:
    calls = calls_for(
        [], [product("A", start_date=START), product("B"), product("C", stop_date=STOP)]
    )

    listed = {
        part: {n for n in (23, 24) if n in c.header["SkuFieldsThatAreSet"]}
        for c in calls
        for part in skus(c)
    }
    assert listed == {"A": {23}, "B": set(), "C": {24}}
    assert [len(c.items) for c in calls] == [1, 1, 1]
    assert all(c.label.endswith("-add") for c in calls)


def test_without_dates_the_add_is_one_call_as_before() -> None:
    (call,) = calls_for([], [product("A"), product("B")])

    assert call.header["SkuFieldsThatAreSet"] == [2, 22]  # no EAN, weight or VAT either


def test_a_changed_date_lists_just_that_date_and_an_emptied_one_is_cleared() -> None:
    old = [product("A", start_date=START), product("B", stop_date=STOP)]
    later = START + dt.timedelta(days=1)
    calls = calls_for(old, [product("A", start_date=later), product("B")])

    by_part = {
        part: (c.header["SkuFieldsThatAreSet"], sku) for c in calls for part, sku in skus(c).items()
    }
    assert by_part["A"] == ([23], {"PartNo": "A", "StartDate": "2026-06-01T22:00:00"})
    # Listed without a value: Norce clears StopDate (a null is never sent).
    assert by_part["B"] == ([24], {"PartNo": "B"})


def test_a_reactivated_sku_lists_its_date_only_when_it_has_one() -> None:
    gone = {STATE: "inactive"}
    old = [product("A", **gone), product("B", **gone)]
    calls = calls_for(old, [product("A", start_date=START), product("B")])

    listed = {part: 23 in c.header["SkuFieldsThatAreSet"] for c in calls for part in skus(c)}
    assert listed == {"A": True, "B": False}
    assert all(c.label.endswith("-reactivate") for c in calls)


def test_a_snapshot_from_before_the_dates_still_diffs_and_gains_them(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    before = snapshot(PRODUCT, [product("A"), product("B"), product("C")])
    relative = store.write("products", "old", before.drop("start_date", "stop_date"))

    old = store.read(relative, PRODUCT.fields())
    new = file_rows(PRODUCT, [product("A", start_date=START), product("B"), product("C", "Cap")])
    delta = diff(old, new, keys(PRODUCT, []), PRODUCT.key, True)

    assert old.columns == [*PRODUCT.fields(), STATE]
    changed = {r["part_no"]: r[CHANGED] for r in delta.changes.iter_rows(named=True)}
    assert changed == {"A": ["start_date"], "C": ["name"]}
    next_snapshot = store.write("products", "new", apply(old, new, delta, PRODUCT.key))
    reread = store.read(next_snapshot, PRODUCT.fields())
    assert reread.schema == old.schema
    assert reread.filter(part_no="A")["start_date"].to_list() == [START]


def test_a_column_the_entity_no_longer_has_is_left_out(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    frame = snapshot(PRODUCT, [product("A")]).with_columns(colour=None)
    relative = store.write("products", "old", frame)

    assert store.read(relative, PRODUCT.fields()).columns == [*PRODUCT.fields(), STATE]

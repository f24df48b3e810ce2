"""What Norce is told for rows the ERP marks inactive, per entity.

An add marked inactive carries its fields and IsActive false (products: StatusCreateOnly =
removed_status); a live row marked inactive is sent exactly as a removal. The flag itself is
never a settable field: IsActive goes only with adds, removals and reactivations.
"""

from __future__ import annotations

from typing import Any

import pytest

from etl.entities import Entity
from etl.entities.calls import NorceCall
from etl.models import IS_ACTIVE, Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build
from tests.support.frames import (
    COMPANY,
    CUSTOMER,
    ONHAND,
    PRICE,
    PRODUCT,
    company,
    customer,
    file_rows,
    keys,
    onhand,
    price,
    product,
    snapshot,
)

OFF = {IS_ACTIVE: False}
ON = {IS_ACTIVE: True}


def delta_of(entity: Entity, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Delta:
    return diff(snapshot(entity, old), file_rows(entity, new), keys(entity, []), entity.key, True)


def kinds(calls: list[NorceCall]) -> list[str]:
    return [c.label.split("-", 2)[2] for c in calls]


def test_a_new_price_marked_inactive_is_added_inactive_with_its_fields() -> None:
    delta = delta_of(PRICE, [], [price("A", "10"), price("B", "12", **OFF)])

    [call] = build(PRICE, delta)

    # One field set, one request: IsActive is per item, listed (10) for both.
    assert (kinds([call]), call.header["SkuPriceListFieldsThatAreSet"]) == (["add"], [3, 10])
    assert call.items == [
        {"PartNo": "A", "PriceListCode": "L1", "QuantityBreak": 1, "CurrencyCode": "SEK",
         "PriceSale": 10, "IsActive": True},
        {"PartNo": "B", "PriceListCode": "L1", "QuantityBreak": 1, "CurrencyCode": "SEK",
         "PriceSale": 12, "IsActive": False},
    ]  # fmt: skip


def test_a_live_stock_row_marked_inactive_is_sent_as_a_removal() -> None:
    delta = delta_of(
        ONHAND, [onhand("A", "5"), onhand("B", "3")], [onhand("A"), onhand("B", "0", **OFF)]
    )

    [call] = build(ONHAND, delta)

    assert kinds([call]) == ["remove"]
    assert call.header["SkuOnhandFieldsThatAreSet"] == [10]
    assert call.items == [
        {"PartNo": "B", "WarehouseCode": "MAIN", "LocationCode": "A1", "IsActive": False}
    ]


def skus(call: NorceCall) -> list[dict[str, Any]]:
    return [i["Variants"][0]["Skus"][0] for i in call.items]


def test_a_new_product_marked_inactive_is_created_in_the_removed_status() -> None:
    delta = delta_of(PRODUCT, [], [product("A", ean="7350000000016", **OFF)])

    [call] = build(PRODUCT, delta, removed_status="Hidden")

    assert kinds([call]) == ["add"]
    assert call.header["SkuFieldsThatAreSet"] == [2, 5, 22]
    assert skus(call) == [{"PartNo": "A", "Status": 4, "Type": 1, "EanCode": "7350000000016"}]


def test_a_live_product_marked_inactive_is_sent_as_a_removal() -> None:
    delta = delta_of(
        PRODUCT, [product("A"), product("B")], [product("A"), product("B", "New", **OFF)]
    )

    [call] = build(PRODUCT, delta)

    assert kinds([call]) == ["remove"]
    assert call.header["SkuFieldsThatAreSet"] == [1]
    assert skus(call) == [{"PartNo": "B", "Status": 5}]
    assert "Cultures" not in call.items[0]  # the new name is not sent with a removal


@pytest.mark.parametrize(
    ("entity", "row", "header", "number"),
    [
        (CUSTOMER, customer, "CustomerFieldsThatAreSet", 11),
        (COMPANY, company, "CompanyFieldsThatAreSet", 9),
    ],
)
def test_a_new_party_marked_inactive_is_added_inactive(
    entity: Entity, row: Any, header: str, number: int
) -> None:
    delta = delta_of(entity, [], [row("A"), row("B", **OFF)])

    calls = build(entity, delta)

    [call] = calls
    assert kinds(calls) == ["add"] and number in call.header[header]
    sent = {i["Code"]: i for i in call.items}
    assert (sent["A"]["IsActive"], sent["B"]["IsActive"]) == (True, False)
    assert sent["B"].keys() == sent["A"].keys()  # the same fields, only the flag differs


@pytest.mark.parametrize(("entity", "row"), [(CUSTOMER, customer), (COMPANY, company)])
def test_a_live_party_marked_inactive_is_sent_as_a_removal(entity: Entity, row: Any) -> None:
    delta = delta_of(entity, [row("A"), row("B")], [row("A"), row("B", **OFF)])

    [call] = build(entity, delta)

    assert kinds([call]) == ["remove"]
    assert call.items == [{"Code": "B", "IsActive": False}]


@pytest.mark.parametrize(
    ("entity", "row"),
    [
        (PRICE, price),
        (ONHAND, onhand),
        (PRODUCT, product),
        (CUSTOMER, customer),
        (COMPANY, company),
    ],
)
def test_the_flag_is_never_a_field_a_change_sets(entity: Entity, row: Any) -> None:
    """A contract mapping is_active carries it; a change still lists only what changed."""
    old = [row("A"), row("B", **ON)]
    first = delta_of(entity, old, [row("A", **ON), row("B")])
    assert build(entity, first) == []
    changed = {"price_sale": "11"} if entity is PRICE else {}
    changed = {"onhand_value": "9"} if entity is ONHAND else changed
    name = "last_name" if entity is CUSTOMER else "name"
    changed = changed or {name: "Other"}
    [call] = build(entity, delta_of(entity, old, [row("A", **{**changed, **ON}), row("B", **ON)]))
    assert kinds([call]) == ["change1"]
    assert all("IsActive" not in i for i in call.items)

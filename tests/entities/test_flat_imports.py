"""Prices and on-hand: FieldsThatAreSet per change group, IsActive, identity, chunking."""

from __future__ import annotations

from typing import Any

import pytest

from etl.entities import ENTITIES, Entity
from etl.entities.onhand import IMPORT as ONHAND_IMPORT
from etl.entities.payloads import FlatImport
from etl.entities.price import IMPORT as PRICE_IMPORT
from etl.models import CHANGED, Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build, onhand_delta, price_delta
from tests.support.frames import PRICE, file_rows, keys, price, snapshot

FLAT = [
    pytest.param(ENTITIES["price"], PRICE_IMPORT, price_delta, id="price"),
    pytest.param(ENTITIES["onhand"], ONHAND_IMPORT, onhand_delta, id="onhand"),
]


def key_of(item: dict[str, Any], imp: FlatImport, entity: Entity) -> tuple[Any, ...]:
    by_field = {field: item[norce] for norce, field in imp.identity.items()}
    return tuple(by_field[k] for k in entity.key)


def kind(label: str) -> str:
    return label.split("-", 2)[2]


@pytest.mark.parametrize(("entity", "imp", "make"), FLAT)
def test_change_headers_list_exactly_the_changed_fields(
    entity: Entity, imp: FlatImport, make: Any
) -> None:
    delta: Delta = make()
    changed = {
        tuple(r[k] for k in entity.key): r[CHANGED] for r in delta.changes.iter_rows(named=True)
    }
    calls = [c for c in build(entity, delta) if kind(c.label).startswith("change")]
    assert len(calls) == 2  # a one-field and a two-field group
    seen = set()
    for call in calls:
        numbers = call.header[imp.fields_header]
        for item in call.items:
            fields = changed[key_of(item, imp, entity)]
            assert numbers == sorted(imp.values[f][1] for f in fields)
            sent = set(item) - set(imp.identity)
            assert sent == {imp.values[f][0] for f in fields}
            seen.add(key_of(item, imp, entity))
    assert seen == set(changed)


@pytest.mark.parametrize(("entity", "imp", "make"), FLAT)
def test_adds_and_reactivations_set_the_fields_they_have_and_is_active(
    entity: Entity, imp: FlatImport, make: Any
) -> None:
    # An empty cell on first sight says nothing: the field is neither listed nor sent.
    calls = [c for c in build(entity, make()) if kind(c.label) in ("add", "reactivate")]
    assert len(calls) == 2
    for call in calls:
        for item in call.items:
            sent = [n for name, n in imp.values.values() if name in item]
            assert call.header[imp.fields_header] == sorted([*sent, 10])
            assert item["IsActive"] is True


@pytest.mark.parametrize(("entity", "imp", "make"), FLAT)
def test_removals_send_is_active_false_with_field_10_only(
    entity: Entity, imp: FlatImport, make: Any
) -> None:
    (call,) = [c for c in build(entity, make()) if kind(c.label) == "remove"]
    assert call.header[imp.fields_header] == [10]
    assert imp.is_active == 10
    assert [set(item) for item in call.items] == [{*imp.identity, "IsActive"}]
    assert call.items[0]["IsActive"] is False and call.items[0]["PartNo"] == "D"


def test_a_value_that_empties_is_listed_but_never_sent_as_null() -> None:
    old = snapshot(PRICE, [price("A", cost_purchase="31.5", price_catalog="90")])
    new = file_rows(PRICE, [price("A", price_catalog="90")])
    (call,) = build(PRICE, diff(old, new, keys(PRICE, []), PRICE.key, True))
    assert call.header["SkuPriceListFieldsThatAreSet"] == [4]
    assert call.items == [
        {"PartNo": "A", "PriceListCode": "L1", "QuantityBreak": 1, "CurrencyCode": "SEK"}
    ]


def test_a_currency_change_goes_out_with_the_new_currency() -> None:
    # CurrencyCode has no FieldsThatAreSet number; it rides in every item
    old = snapshot(PRICE, [price("A"), price("B")])
    new = file_rows(PRICE, [price("A", currency="EUR"), price("B", "80", currency="EUR")])
    delta = diff(old, new, keys(PRICE, []), PRICE.key, True)
    calls = build(PRICE, delta)
    by_part = {item["PartNo"]: (c.header, item) for c in calls for item in c.items}
    header_a, item_a = by_part["A"]
    assert item_a["CurrencyCode"] == "EUR" and item_a["PriceSale"] == 79.2
    # Never empty: the values the row holds go again, and the header lists just those.
    assert header_a["SkuPriceListFieldsThatAreSet"] == [3]
    header_b, item_b = by_part["B"]
    assert header_b["SkuPriceListFieldsThatAreSet"] == [3]
    assert item_b == {
        "PartNo": "B",
        "PriceListCode": "L1",
        "QuantityBreak": 1,
        "CurrencyCode": "EUR",
        "PriceSale": 80,
    }


def test_chunks_keep_order_and_number_their_labels() -> None:
    old = snapshot(PRICE, [price(f"R{i}") for i in range(3)])
    new = file_rows(PRICE, [price(f"N{i}") for i in range(5)])
    delta = diff(old, new, keys(PRICE, []), PRICE.key, True)
    calls = build(PRICE, delta, chunk_size=2)
    assert [c.label for c in calls] == [
        "0001-ImportSkuPriceLists-add",
        "0002-ImportSkuPriceLists-add",
        "0003-ImportSkuPriceLists-add",
        "0004-ImportSkuPriceLists-remove",
        "0005-ImportSkuPriceLists-remove",
    ]
    assert [len(c.items) for c in calls] == [2, 2, 1, 2, 1]
    assert [i["PartNo"] for c in calls[:3] for i in c.items] == [f"N{i}" for i in range(5)]
    assert [i["PartNo"] for c in calls[3:] for i in c.items] == [f"R{i}" for i in range(3)]
    assert all(c.header == calls[0].header for c in calls[:3])


def test_an_empty_delta_makes_no_calls() -> None:
    rows = [price("A")]
    delta = diff(snapshot(PRICE, rows), file_rows(PRICE, rows), keys(PRICE, []), PRICE.key, True)
    assert delta.is_empty() and build(PRICE, delta) == []

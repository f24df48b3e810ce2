"""Every call's header lists exactly the fields its items set, per level, for any contract.

A field the contract neither maps nor defaults is never listed and never sent; an add or a
return lists a field only for the items that carry a value (an empty cell on first sight says
nothing); a change lists what changed, an emptied field included; no array is ever empty.
The contracts are the shipped ones (schemas/*.toml), every field, and only the required ones.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import polars as pl
import pytest

from etl.entities import ENTITIES, Entity
from etl.models import Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import (
    build,
    company_delta,
    customer_delta,
    onhand_delta,
    price_delta,
    product_delta,
)
from tests.support.frames import (
    CUSTOMER,
    PRICE,
    PRODUCT,
    customer,
    file_rows,
    keys,
    price,
    product,
    snapshot,
)
from tests.support.listed_fields import check_calls
from tests.support.paths import SCHEMAS

SCENARIOS: dict[str, tuple[Callable[[], Delta], str]] = {
    "product": (product_delta, "products.toml"),
    "price": (price_delta, "prices.toml"),
    "onhand": (onhand_delta, "stock.toml"),
    "customer": (customer_delta, "customers.toml"),
    "company": (company_delta, "companies.toml"),
}


def shipped(name: str) -> frozenset[str]:
    """The fields a shipped contract maps or defaults."""
    raw = tomllib.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return frozenset(raw["columns"].values()) | frozenset(raw.get("defaults", {}))


def contracts(entity: Entity, toml: str) -> dict[str, frozenset[str]]:
    return {
        "shipped": shipped(toml),
        "every field": frozenset(entity.fields()),
        "required only": frozenset(entity.required_fields()) | frozenset(entity.key),
    }


CASES = [
    pytest.param(name, label, id=f"{name}-{label}")
    for name in SCENARIOS
    for label in ("shipped", "every field", "required only")
]


@pytest.mark.parametrize(("name", "contract"), CASES)
def test_headers_list_exactly_what_the_items_set(name: str, contract: str) -> None:
    entity = ENTITIES[name]
    make, toml = SCENARIOS[name]
    carried = contracts(entity, toml)[contract]
    delta = make()
    calls = build(entity, delta, carried=carried)
    assert calls
    check_calls(entity, calls, delta, carried)


def _sets(header: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in header.items() if k.endswith("FieldsThatAreSet")}


def test_a_product_add_lists_no_sku_field_the_file_has_no_value_for() -> None:
    # Issue 12: SkuFieldsThatAreSet listed EanCode, ActualWeight and VatRate with none sent.
    new = file_rows(PRODUCT, [product("A")])
    delta = _first_run(PRODUCT, new)
    (call,) = build(PRODUCT, delta)
    assert _sets(call.header) == {
        "ProductFieldsThatAreSet": [0, 4, 5],
        "VariantFieldsThatAreSet": [5],
        "SkuFieldsThatAreSet": [2, 22],
        "ProductCultureFieldsThatAreSet": [0],
    }


def test_a_product_change_below_the_sku_sends_no_empty_sku_list() -> None:
    # Issue 12: a rename went out with "SkuFieldsThatAreSet":[].
    old = snapshot(PRODUCT, [product("A", description="x")])
    delta = _diff(PRODUCT, old, file_rows(PRODUCT, [product("A", "Cap", description="x")]))
    (call,) = build(PRODUCT, delta)
    # Variants (4) and Skus (5) stay listed: the item reaches its product through them.
    assert _sets(call.header) == {
        "ProductFieldsThatAreSet": [4, 5],
        "VariantFieldsThatAreSet": [5],
        "ProductCultureFieldsThatAreSet": [0],
    }
    assert call.items == [
        {
            "ManufacturerCode": "ACME",
            "Cultures": [{"CultureCode": "sv-SE", "Name": "Cap"}],
            "Variants": [{"ManufacturerPartNo": "A", "Skus": [{"PartNo": "A"}]}],
        }
    ]


def test_a_price_add_lists_the_three_fields_the_shipped_contract_maps() -> None:
    # Issue 12: prices listed 7 fields for 3 sent.
    rows = [price("A", cost_purchase="31.5", price_recommended="99")]
    delta = _first_run(PRICE, file_rows(PRICE, rows))
    (call,) = build(PRICE, delta, carried=shipped("prices.toml"))
    assert call.header["SkuPriceListFieldsThatAreSet"] == [3, 4, 6, 10]
    assert set(call.items[0]) == {
        "PartNo", "PriceListCode", "QuantityBreak", "CurrencyCode",
        "PriceSale", "CostPurchase", "PriceRecommended", "IsActive",
    }  # fmt: skip


def test_a_customer_file_without_phones_or_address_never_lists_them() -> None:
    # Issue 12: customers listed phone, mobile, social security number and address.
    carried = frozenset({"code", "first_name", "last_name", "email"})
    delta = _first_run(CUSTOMER, file_rows(CUSTOMER, [customer("A")]))
    (call,) = build(CUSTOMER, delta, carried=carried)
    assert call.header["CustomerFieldsThatAreSet"] == [2, 3, 6, 8, 11, 18]
    assert call.items == [
        {
            "Code": "A",
            "EmailAddress": "a@example.se",
            "FirstName": "Anna",
            "LastName": "Andersson",
            "IsActive": True,
        }
    ]


def test_an_unmapped_field_left_in_an_old_snapshot_is_never_sent() -> None:
    # A contract that stops mapping the EAN: the file's empty cells are not a removal.
    old = snapshot(PRODUCT, [product("A", ean="7350000000016")])
    delta = _diff(PRODUCT, old, file_rows(PRODUCT, [product("A")]))
    carried = frozenset(PRODUCT.fields()) - {"ean"}
    assert delta.changes.height == 1
    assert build(PRODUCT, delta, carried=carried) == []


def _first_run(entity: Entity, new: pl.DataFrame) -> Delta:
    return _diff(entity, snapshot(entity, []), new)


def _diff(entity: Entity, old: pl.DataFrame, new: pl.DataFrame) -> Delta:
    return diff(old, new, keys(entity, []), entity.key, True)

"""Products: the nested Product -> Variant -> Sku payload and its per-level FieldsThatAreSet."""

from __future__ import annotations

from typing import Any

from etl.entities.calls import NorceCall
from etl.entities.product import SKU_STATUS, SKU_TYPE
from etl.models import CHANGED
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build, product_delta
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot

# field -> (header, number), from reference section 3
NUMBERS = {
    "manufacturer_code": ("ProductFieldsThatAreSet", 0),
    "manufacturer_name": ("ProductFieldsThatAreSet", 1),
    "product_code": ("ProductFieldsThatAreSet", 3),
    "category_code": ("ProductFieldsThatAreSet", 6),
    "name": ("ProductCultureFieldsThatAreSet", 0),
    "description": ("ProductCultureFieldsThatAreSet", 5),
    "manufacturer_part_no": ("VariantFieldsThatAreSet", 0),
    "ean": ("SkuFieldsThatAreSet", 5),
    "weight": ("SkuFieldsThatAreSet", 14),
    "vat_rate": ("SkuFieldsThatAreSet", 21),
}
VARIANTS, CULTURES, SKUS = 4, 5, 5


def kind(call: NorceCall) -> str:
    return call.label.split("-", 2)[2]


def sku(item: dict[str, Any]) -> dict[str, Any]:
    (variant,) = item["Variants"]
    (only,) = variant["Skus"]
    return dict(only)


def expected_header(fields: list[str], sku_extra: list[int]) -> dict[str, list[int]]:
    """Per level what the fields set; a nested list's number only when its level sets any."""
    header: dict[str, set[int]] = {"ProductFieldsThatAreSet": set()}
    if sku_extra:
        header["SkuFieldsThatAreSet"] = set(sku_extra)
    for f in fields:
        name, number = NUMBERS[f]
        header.setdefault(name, set()).add(number)
    if "SkuFieldsThatAreSet" in header:
        header.setdefault("VariantFieldsThatAreSet", set()).add(SKUS)
    if "VariantFieldsThatAreSet" in header:
        header["ProductFieldsThatAreSet"].add(VARIANTS)
    if "ProductCultureFieldsThatAreSet" in header:
        header["ProductFieldsThatAreSet"].add(CULTURES)
    return {name: sorted(numbers) for name, numbers in header.items()}


def sets(call: NorceCall) -> dict[str, list[int]]:
    return {k: v for k, v in call.header.items() if k.endswith("FieldsThatAreSet")}


def test_change_headers_list_exactly_the_changed_fields_per_level() -> None:
    delta = product_delta()
    changed = {r["part_no"]: sorted(r[CHANGED]) for r in delta.changes.iter_rows(named=True)}
    calls = [c for c in build(PRODUCT, delta) if kind(c).startswith("change")]
    assert len(calls) == 2
    for call in calls:
        for item in call.items:
            assert sets(call) == expected_header(changed[sku(item)["PartNo"]], [])
    assert sorted(sku(i)["PartNo"] for c in calls for i in c.items) == sorted(changed)


def test_culture_fields_bring_cultures_5_and_only_then() -> None:
    old = snapshot(PRODUCT, [product("A", description="x"), product("B", ean="96385074")])
    new = file_rows(PRODUCT, [product("A", description="y"), product("B", ean="4006381333931")])
    calls = build(PRODUCT, diff(old, new, keys(PRODUCT, []), PRODUCT.key, True))
    by_part = {sku(c.items[0])["PartNo"]: c for c in calls}
    a, b = by_part["A"], by_part["B"]
    # Nothing is set below the product: Variants (4) and Skus (5) only carry the PartNo
    # that finds the product, and no SKU array is sent at all (never an empty one).
    assert sets(a) == {
        "ProductFieldsThatAreSet": [4, 5],
        "VariantFieldsThatAreSet": [5],
        "ProductCultureFieldsThatAreSet": [5],
    }
    assert a.items[0]["Cultures"] == [{"CultureCode": "sv-SE", "Description": "y"}]
    assert "ProductCultureFieldsThatAreSet" not in b.header and "Cultures" not in b.items[0]
    assert sets(b) == {
        "ProductFieldsThatAreSet": [4],
        "VariantFieldsThatAreSet": [5],
        "SkuFieldsThatAreSet": [5],
    }


def test_adds_create_with_status_create_only_type_and_the_configured_status() -> None:
    calls = build(PRODUCT, product_delta(), new_status="Coming", sku_type="Service")
    adds = [c for c in calls if kind(c) == "add"]
    assert adds
    for call in adds:
        numbers = call.header["SkuFieldsThatAreSet"]
        assert 22 in numbers and 2 in numbers and 1 not in numbers
        for item in call.items:
            assert sku(item)["Status"] == SKU_STATUS["Coming"] == 2
            assert sku(item)["Type"] == SKU_TYPE["Service"] == 11
    default = [c for c in build(PRODUCT, product_delta()) if kind(c) == "add"]
    assert {sku(i)["Status"] for c in default for i in c.items} == {6}  # NotActivated


def test_removals_set_the_configured_removed_status_with_field_1() -> None:
    for options, status in (({}, 5), ({"removed_status": "Hidden"}, 4)):
        (call,) = [c for c in build(PRODUCT, product_delta(), **options) if kind(c) == "remove"]
        assert sets(call) == {
            "ProductFieldsThatAreSet": [4],
            "VariantFieldsThatAreSet": [5],
            "SkuFieldsThatAreSet": [1],
        }
        assert call.items == [
            {
                "ManufacturerCode": "ACME",
                "Variants": [
                    {"ManufacturerPartNo": "D", "Skus": [{"PartNo": "D", "Status": status}]}
                ],
            }
        ]


def test_reactivations_set_status_and_the_fields_that_have_a_value() -> None:
    (call,) = [c for c in build(PRODUCT, product_delta()) if kind(c) == "reactivate"]
    # C comes back with a manufacturer and a name only: an empty cell says nothing
    assert sets(call) == expected_header(["manufacturer_code", "name"], [1])
    # By default a SKU that comes back waits for a person, like a new one.
    assert sku(call.items[0]) == {"PartNo": "C", "Status": SKU_STATUS["NotActivated"]}


def test_reactivated_status_can_put_a_returning_sku_straight_back_on_sale() -> None:
    calls = build(PRODUCT, product_delta(), reactivated_status="Active", new_status="Hidden")
    (call,) = [c for c in calls if kind(c) == "reactivate"]
    assert sku(call.items[0]) == {"PartNo": "C", "Status": SKU_STATUS["Active"]}
    added = [item for c in calls if kind(c) == "add" for item in c.items]
    assert added and all(sku(item)["Status"] == SKU_STATUS["Hidden"] for item in added)


def test_code_3_is_listed_only_for_items_that_carry_a_code() -> None:
    # reference section 3: once Code (3) is listed it is mandatory in every item
    old = snapshot(
        PRODUCT,
        [product("A", product_code="CL-1"), product("B", product_code="CL-1"), product("C")],
    )
    new = file_rows(
        PRODUCT,
        [
            product("A", product_code="CL-2"),  # code changes: sent
            product("B", "Other"),  # code emptied, name changed: name only
            product("C", product_code="CL-3"),  # code set
            product("N"),  # new, no code
            product("M", product_code="CL-9"),  # new, with a code
        ],
    )
    calls = build(PRODUCT, diff(old, new, keys(PRODUCT, []), PRODUCT.key, True))
    sent = {}
    for call in calls:
        lists_code = 3 in call.header["ProductFieldsThatAreSet"]
        for item in call.items:
            assert ("Code" in item) == lists_code, (call.label, item)
            sent[sku(item)["PartNo"]] = item.get("Code")
    assert sent == {"A": "CL-2", "B": None, "C": "CL-3", "N": None, "M": "CL-9"}


def test_a_change_that_only_empties_the_code_sends_nothing() -> None:
    old = snapshot(PRODUCT, [product("A", product_code="CL-1")])
    new = file_rows(PRODUCT, [product("A")])
    delta = diff(old, new, keys(PRODUCT, []), PRODUCT.key, True)
    assert delta.changes.height == 1
    assert build(PRODUCT, delta) == []


def test_variant_defaults_to_the_part_number_and_vat_uses_the_sales_area() -> None:
    row = product("A", manufacturer_part_no=None, vat_rate="12.5")
    delta = diff(
        snapshot(PRODUCT, []), file_rows(PRODUCT, [row]), keys(PRODUCT, []), PRODUCT.key, True
    )
    (call,) = build(PRODUCT, delta, sales_area=2, culture="nb-NO")
    item = call.items[0]
    assert item["Variants"][0]["ManufacturerPartNo"] == "A"
    assert sku(item)["VatRates"] == [{"SalesArea": 2, "Rate": 12.5}]
    assert item["Cultures"] == [{"CultureCode": "nb-NO", "Name": "Glove"}]

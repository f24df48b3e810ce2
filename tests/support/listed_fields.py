"""What a call's items set, read back from their JSON level by level; the header must list that.

Each entity is described here independently of the builders, from reference sections 3, 4,
6, 7 and 8: which item key sits at which level under which number, and which canonical field
it comes from. For every item of every call, per level:

    listed == the numbers of the keys the item carries
              + the numbers of the fields its row emptied in a change (listed, left out: null)
              + the number of an identity (ManufacturerCode, ManufacturerPartNo) the row sets
              + the "nested list is set" number when the level below lists anything.

Identities (PartNo, CultureCode, the price and stock keys, Code) are always sent; a field the
contract does not carry is never sent, and an empty array is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from etl.entities import Entity
from etl.entities.calls import NorceCall
from etl.entities.party import ADDRESS
from etl.models import CHANGED, Delta

Json = dict[str, Any]
ADDRESS_KEYS = {
    "AddressLine1": "address_line1",
    "AddressLine2": "address_line2",
    "ZipCode": "zip_code",
    "City": "city",
    "CountryCode": "country",
}


@dataclass(frozen=True)
class Level:
    """One level of an item: its header array and the keys it may carry."""

    header: str
    find: Callable[[Json], Json | None]  # the item's object at this level, None if absent
    keys: Mapping[str, tuple[int, str | None]]  # item key -> (number, canonical field or None)
    below: tuple[tuple[str, int], ...] = ()  # (header of a level below, the nested-list number)
    aliases: Mapping[int, int] = field(default_factory=dict)  # e.g. StatusCreateOnly -> Status
    # Nested lists every item carries to say which record it is about (Variants -> Skus ->
    # PartNo): listed always, so the level is there even when nothing in it is set.
    identity_lists: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Shape:
    """An entity's levels, bottom first, and where each canonical field is listed."""

    levels: tuple[Level, ...]
    numbers: Mapping[str, tuple[str, int]]  # canonical field -> (header, number)
    key: Callable[[Json], tuple[Any, ...]]  # the item's key, in the entity's key order
    identities: frozenset[str] = frozenset()  # fields always sent, listed only when set
    cannot_empty: frozenset[str] = frozenset()  # emptied in the ERP, nothing to send
    # Field -> (header, its CreateOnly number): what a contract's `create_only` field is
    # listed under instead of its own number, on adds only (reference section 3).
    create_only: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def _sku(item: Json) -> Json:
    (variant,) = item["Variants"]
    (sku,) = variant["Skus"]
    return dict(sku)


def _culture(item: Json) -> Json | None:
    cultures = item.get("Cultures")
    if cultures is None:
        return None
    (culture,) = cultures
    return dict(culture)


PRODUCT = Shape(
    levels=(
        Level(
            "SkuFieldsThatAreSet",
            _sku,
            {
                "Status": (1, None), "Type": (2, None), "EanCode": (5, "ean"),
                "ActualWeight": (14, "weight"), "VatRates": (21, "vat_rate"),
                "StartDate": (23, "start_date"), "StopDate": (24, "stop_date"),
            },
            aliases={22: 1},
        ),
        Level("VariantFieldsThatAreSet", lambda i: i["Variants"][0], {},
              below=(("SkuFieldsThatAreSet", 5),), identity_lists=frozenset({5})),
        Level("ProductCultureFieldsThatAreSet", _culture,
              {"Name": (0, "name"), "Description": (5, "description")},
              aliases={1: 0, 6: 5}),  # NameCreateOnly, DescriptionCreateOnly
        Level(
            "ProductFieldsThatAreSet",
            lambda i: i,
            {"ManufacturerName": (1, "manufacturer_name"), "Code": (3, "product_code"),
             "Categories": (6, "category_code")},
            below=(("VariantFieldsThatAreSet", 4), ("ProductCultureFieldsThatAreSet", 5)),
            identity_lists=frozenset({4}),
            aliases={15: 6},  # CategoriesCreateOnly
        ),
    ),
    numbers={
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
        "start_date": ("SkuFieldsThatAreSet", 23),
        "stop_date": ("SkuFieldsThatAreSet", 24),
    },
    key=lambda item: (_sku(item)["PartNo"],),
    identities=frozenset({"manufacturer_code", "manufacturer_part_no"}),
    cannot_empty=frozenset({"product_code"}),  # once Code (3) is listed every item needs one
    create_only={
        "name": ("ProductCultureFieldsThatAreSet", 1),
        "description": ("ProductCultureFieldsThatAreSet", 6),
        "category_code": ("ProductFieldsThatAreSet", 15),
    },
)  # fmt: skip


def _flat(header: str, keys: Mapping[str, tuple[int, str | None]], key: tuple[str, ...]) -> Shape:
    numbers = {f: (header, n) for n, f in keys.values() if f is not None}
    return Shape((Level(header, lambda i: i, keys),), numbers, lambda i: tuple(i[k] for k in key))


PRICE = _flat(
    "SkuPriceListFieldsThatAreSet",
    {
        "PriceSale": (3, "price_sale"), "CostPurchase": (4, "cost_purchase"),
        "CostUnit": (5, "cost_unit"), "PriceRecommended": (6, "price_recommended"),
        "PricePrevious": (7, "price_previous"), "PriceCatalog": (8, "price_catalog"),
        "IsActive": (10, None),
    },
    ("PartNo", "PriceListCode", "QuantityBreak"),
)  # fmt: skip
ONHAND = _flat(
    "SkuOnhandFieldsThatAreSet",
    {
        "OnhandValue": (3, "onhand_value"), "IncomingValue": (4, "incoming_value"),
        "NextDeliveryDate": (5, "next_delivery_date"), "LeadTimeDayCount": (6, "lead_time_days"),
        "IsActive": (10, None),
    },
    ("PartNo", "WarehouseCode", "LocationCode"),
)  # fmt: skip


def _party(
    header: str, keys: Mapping[str, tuple[int, str | None]], address: int, search_only: int
) -> Shape:
    shape = _flat(header, keys, ("Code",))
    # SearchOnlyByCode is a switch of the header alone: no Customer or Company property.
    levels = tuple(
        replace(level, identity_lists=frozenset({search_only})) for level in shape.levels
    )
    return Shape(levels, {**shape.numbers, **dict.fromkeys(ADDRESS, (header, address))},
                 shape.key)  # fmt: skip


CUSTOMER = _party(
    "CustomerFieldsThatAreSet",
    {
        "ApplicationKey": (0, None), "Code": (2, None), "EmailAddress": (3, "email"),
        "SocialSecurityNumber": (4, "social_security_number"), "FirstName": (6, "first_name"),
        "LastName": (8, "last_name"), "PhoneNumber": (9, "phone"),
        "CellPhoneNumber": (10, "cell_phone"), "IsActive": (11, None),
        "InvoiceAddress": (12, None), "Companies": (19, "company_code"),
    },
    12,
    18,
)  # fmt: skip
COMPANY = _party(
    "CompanyFieldsThatAreSet",
    {
        "ApplicationKey": (0, None), "Code": (2, None), "OrganizationNo": (3, "organization_no"),
        "Name": (4, "name"), "EmailAddress": (5, "email"), "PhoneNumber": (6, "phone"),
        "ParentCompanyCode": (8, "parent_company_code"), "IsActive": (9, None),
        "InvoiceAddress": (10, None), "PriceLists": (19, "price_list_code"),
        "VatNo": (21, "vat_no"),
    },
    10,
    20,
)  # fmt: skip
SHAPES = {"product": PRODUCT, "price": PRICE, "onhand": ONHAND, "customer": CUSTOMER,
          "company": COMPANY}  # fmt: skip
# Sent with no number of their own (steering switches, identities, values riding along).
UNNUMBERED = {
    "product": {"ManufacturerCode", "Variants", "Cultures", "Skus", "ManufacturerPartNo",
                "PartNo", "CultureCode"},
    "price": {"PartNo", "PriceListCode", "QuantityBreak", "CurrencyCode"},
    "onhand": {"PartNo", "WarehouseCode", "LocationCode"},
    "customer": {"Type", "IsCompanyListDelta"},
    "company": set(),
}  # fmt: skip


@dataclass(frozen=True)
class RowFacts:
    """What the delta says about one key: the kind of change and the fields it sets."""

    kind: str
    row: Mapping[str, Any]
    sets: frozenset[str]  # carried fields the row gives a value to, or that changed


def facts(
    entity: Entity, delta: Delta, carried: Collection[str], create_only: Collection[str] = ()
) -> dict[tuple[Any, ...], RowFacts]:
    """Key -> what the delta says about it (an add or a return sets the fields it has).

    A create-only field is set by an add only: a change or a return (a SKU Norce has) sends
    nothing for it.
    """
    out: dict[tuple[Any, ...], RowFacts] = {}
    every = [f for f in carried if f not in entity.key]
    frames = (("add", delta.adds), ("change", delta.changes),
              ("reactivate", delta.reactivations), ("remove", delta.removals))  # fmt: skip
    for kind, frame in frames:
        value_fields = every if kind == "add" else [f for f in every if f not in create_only]
        for row in frame.iter_rows(named=True):
            if kind == "change":
                sets = frozenset(row[CHANGED]) & set(value_fields)
            elif kind == "remove":
                sets = frozenset()
            else:  # a return also sets what differs from its last accepted state
                sets = frozenset(f for f in value_fields if row[f] is not None)
                sets |= frozenset(row.get(CHANGED) or ()) & set(value_fields)
            out[tuple(row[k] for k in entity.key)] = RowFacts(kind, row, sets)
    return out


def expected_header(shape: Shape, item: Json, facts_: RowFacts) -> dict[str, set[int]]:
    """Per header array, what this item sets (see the module docstring)."""
    header: dict[str, set[int]] = {}
    for level in shape.levels:
        numbers: set[int] = set(level.identity_lists)
        found = level.find(item)
        for key in found or {}:
            if key in level.keys:
                numbers.add(level.keys[key][0])
        for f in facts_.sets:
            where, number = shape.numbers.get(f, (None, 0))
            if where != level.header or (f in shape.cannot_empty and facts_.row[f] is None):
                continue
            if f in shape.identities or facts_.row[f] is None:
                numbers.add(number)  # an identity the row sets, or a field it emptied
        for below, number in level.below:
            if header.get(below):
                numbers.add(number)
        header[level.header] = numbers
    return header


def listed(shape: Shape, call: NorceCall) -> dict[str, set[int]]:
    """The call's header arrays, create-only numbers read as the field they set."""
    out: dict[str, set[int]] = {}
    for level in shape.levels:
        numbers = set(call.header.get(level.header, []))
        out[level.header] = {level.aliases.get(n, n) for n in numbers}
    return out


def sent_fields(shape: Shape, item: Json) -> set[str]:
    """Canonical fields whose value the item carries (identities not counted)."""
    fields: set[str] = set()
    for level in shape.levels:
        for key in level.find(item) or {}:
            field_ = level.keys.get(key, (0, None))[1]
            if field_ is not None:
                fields.add(field_)
    address = item.get("InvoiceAddress") or {}
    fields |= {ADDRESS_KEYS[k] for k in address}
    return fields


def check_calls(
    entity: Entity,
    calls: list[NorceCall],
    delta: Delta,
    carried: Collection[str],
    create_only: Collection[str] = (),
) -> None:
    """Every header lists exactly what its items set, per level; nothing uncarried is sent.

    A `create_only` field is listed under its CreateOnly number, never its own, and on adds
    only; any other field never under its CreateOnly number.
    """
    shape, known = SHAPES[entity.name], facts(entity, delta, carried, create_only)
    for call in calls:
        for name, numbers in call.header.items():
            if name.endswith("FieldsThatAreSet"):
                assert numbers, f"{call.label}: empty {name}"
        _check_create_only_numbers(shape, call, create_only)
        for item in call.items:
            row = known[shape.key(item)]
            assert call.label.split("-", 2)[2].rstrip("0123456789") == row.kind, call.label
            want = expected_header(shape, item, row)
            assert listed(shape, call) == want, (call.label, item, call.header)
            assert sent_fields(shape, item) <= set(carried), (call.label, item)
            _check_unnumbered(entity, shape, item)


def _check_create_only_numbers(shape: Shape, call: NorceCall, create_only: Collection[str]) -> None:
    add = call.label.split("-", 2)[2] == "add"
    for f, (header, seed) in shape.create_only.items():
        own = shape.numbers[f][1]
        numbers = set(call.header.get(header, []))
        if f in create_only:
            assert own not in numbers, (call.label, f, "listed as set, not create-only")
            assert add or seed not in numbers, (call.label, f, "create-only outside an add")
        else:
            assert seed not in numbers, (call.label, f, "create-only, not in create_only")


def _check_unnumbered(entity: Entity, shape: Shape, item: Json) -> None:
    numbered = {k for level in shape.levels for k in level.keys}
    every = set(item)
    if entity.name == "product":
        every |= set(item["Variants"][0]) | set(_sku(item)) | set(_culture(item) or {})
    unknown = every - numbered - UNNUMBERED[entity.name]
    assert not unknown, (unknown, item)
    if {"Type", "IsCompanyListDelta"} & set(item):
        assert "Companies" in item, item  # derived from the company: sent with it only

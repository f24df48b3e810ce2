"""Connect's asynchronous imports as a contract: what each `Import*` method accepts, as tables
(enum values, field numbers, match keys, how parties are matched), and the checks of its
`X-StormConnect-Header` and body. Reference sections 2-8."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.support.norce.answers import Json

# ---------------------------------------------------------------- the contract, as tables


def _values(*numbers: int) -> frozenset[int]:
    return frozenset(numbers)


_R = range
# `None`: a documented header array whose enum values the reference does not list.
_PRODUCT_ENUMS: Mapping[str, frozenset[int] | None] = {
    "ProductFieldsThatAreSet": _values(*_R(20)),
    "ProductCultureFieldsThatAreSet": _values(*_R(16)),
    "VariantFieldsThatAreSet": _values(*_R(18)),
    "VariantCultureFieldsThatAreSet": _values(*_R(17)),
    "SkuFieldsThatAreSet": _values(*_R(1, 17), *_R(18, 27)),
    "SkuCultureFieldsThatAreSet": _values(*_R(4)),
    "SkuPriceListFieldsThatAreSet": _values(*_R(3, 14)),
    "IgnoreSkuPriceListFieldsWhenEmpty": _values(*_R(3, 14)),
    "SkuStructureItemFieldsThatAreSet": None,
    "ImageCultureFieldsThatAreSet": None,
}
_PRICE_ENUMS: Mapping[str, frozenset[int] | None] = {
    "SkuPriceListFieldsThatAreSet": _values(*_R(3, 14)),
    "IgnoreSkuPriceListFieldsWhenEmpty": _values(*_R(3, 14)),
}
_ONHAND_ENUMS: Mapping[str, frozenset[int] | None] = {
    "SkuOnhandFieldsThatAreSet": _values(*_R(3, 12)),
}
_PRICELIST_ENUMS: Mapping[str, frozenset[int] | None] = {
    "PriceListFieldsThatAreSet": _values(*_R(25)),
    "WarehouseFieldsThatAreSet": _values(*_R(3)),
    "WarehouseLocationFieldsThatAreSet": _values(*_R(3)),
    "PriceListPriceRuleFieldsThatAreSet": None,
}
_CUSTOMER_ENUMS: Mapping[str, frozenset[int] | None] = {
    "CustomerFieldsThatAreSet": _values(*_R(22)),
    "CompanyFieldsThatAreSet": _values(*_R(23)),
    "AccountFieldsThatAreSet": _values(*_R(5)),
}

# Item field -> its number in the header array that governs it (flat imports only).
_PRICE_FIELDS = {
    "PriceSale": 3, "CostPurchase": 4, "CostUnit": 5, "PriceRecommended": 6,
    "PricePrevious": 7, "PriceCatalog": 8, "IsPriceDiscountable": 9, "IsActive": 10,
    "PriceRule": 12, "PriceRuleValue": 12,
}  # fmt: skip
_ONHAND_FIELDS = {
    "OnhandValue": 3, "IncomingValue": 4, "NextDeliveryDate": 5, "LeadTimeDayCount": 6,
    "OnOrderValue": 7, "MinimumValue": 8, "MaximumValue": 9, "IsActive": 10, "Infos": 11,
}  # fmt: skip
_CUSTOMER_FIELDS = {
    "ApplicationKey": 0, "Id": 1, "Code": 2, "EmailAddress": 3, "SocialSecurityNumber": 4,
    "Title": 5, "FirstName": 6, "MiddleName": 7, "LastName": 8, "PhoneNumber": 9,
    "CellPhoneNumber": 10, "IsActive": 11, "InvoiceAddress": 12, "DeliveryAddresses": 13,
    "Accounts": 14, "AdditionalInfo": 15, "Flags": 16, "PriceLists": 17, "Companies": 19,
    "CrmId": 20,
}  # fmt: skip
_COMPANY_FIELDS = {
    "ApplicationKey": 0, "Id": 1, "Code": 2, "OrganizationNo": 3, "Name": 4,
    "EmailAddress": 5, "PhoneNumber": 6, "LogoImage": 7, "ParentCompanyCode": 8,
    "IsActive": 9, "InvoiceAddress": 10, "DeliveryAddresses": 11, "AdditionalInfo": 12,
    "Contacts": 13, "Customers": 14, "DeliveryMethods": 15, "Discounts": 16, "Flags": 17,
    "PaymentMethods": 18, "PriceLists": 19, "VatNo": 21,
}  # fmt: skip
_PRICE_AMOUNTS = {"PriceSale", "CostPurchase", "CostUnit", "PriceRecommended", "PricePrevious",
                  "PriceCatalog"}  # fmt: skip


@dataclass(frozen=True)
class PartyRules:
    """How Norce matches, inserts and relates one kind of party (reference sections 7, 8)."""

    noun: str  # "customer" | "company", for messages
    third_key: str  # the match key tried after Code and Id
    required: tuple[str, ...]  # an insert needs each one sent, non-empty and listed
    search_only_by_code: int  # the SearchOnlyByCode number in the header's fields array
    unnumbered: frozenset[str]  # item fields the header does not govern (always applied)
    fold_third_key: bool = False  # [I] e-mail addresses match whatever their case
    insert_defaults: Mapping[str, Any] = field(default_factory=dict)  # what Norce sets unsent


CUSTOMER_RULES = PartyRules(
    "customer", "EmailAddress", ("Code", "FirstName", "LastName", "EmailAddress"), 18,
    frozenset({"Type"}), fold_third_key=True,
    insert_defaults={"Type": 1},  # [I] a customer made without a Type is a Customer (1)
)  # fmt: skip
COMPANY_RULES = PartyRules(
    "company", "OrganizationNo", ("Code", "Name", "OrganizationNo"), 20,
    frozenset({"UseInvoiceAddressAsDeliveryAddress"}),
)  # fmt: skip


@dataclass(frozen=True)
class ImportSpec:
    """What one Connect import accepts and how it lands in the state."""

    entity: str  # attribute of NorceState
    enums: Mapping[str, frozenset[int] | None]
    full_file: Literal["required", "optional", "absent"]  # "required": must be sent, false
    keys: tuple[str, ...]  # match keys every item carries (products: checked separately)
    fields_header: str | None = None  # the array that governs `field_numbers`
    field_numbers: Mapping[str, int] = field(default_factory=dict)
    party: PartyRules | None = None  # customers and companies: matched item by item


IMPORTS: Mapping[str, ImportSpec] = {
    "Product/ImportProducts": ImportSpec("skus", _PRODUCT_ENUMS, "required", ("ManufacturerCode",)),
    "Product/ImportSkuPriceLists": ImportSpec(
        "prices", _PRICE_ENUMS, "required", ("PartNo", "PriceListCode"),
        "SkuPriceListFieldsThatAreSet", _PRICE_FIELDS,
    ),
    "Product/ImportOnhands": ImportSpec(
        "onhands", _ONHAND_ENUMS, "required", ("PartNo", "WarehouseCode", "LocationCode"),
        "SkuOnhandFieldsThatAreSet", _ONHAND_FIELDS,
    ),
    "Product/ImportPriceLists": ImportSpec("pricelists", _PRICELIST_ENUMS, "optional", ("Code",)),
    # No match key is required of every party item: Code, Id or the third key may match.
    "Customer/ImportCustomers": ImportSpec(
        "customers", _CUSTOMER_ENUMS, "absent", (), "CustomerFieldsThatAreSet",
        _CUSTOMER_FIELDS, CUSTOMER_RULES,
    ),
    "Customer/ImportCompanies": ImportSpec(
        "companies", _CUSTOMER_ENUMS, "absent", (), "CompanyFieldsThatAreSet",
        _COMPANY_FIELDS, COMPANY_RULES,
    ),
}  # fmt: skip


class ContractError(Exception):
    """The request breaks the documented contract; answered 400."""


# ---------------------------------------------------------------- checks


def check_header(method: str, raw: str | None) -> Json:
    """The parsed X-StormConnect-Header, or ContractError saying what is wrong."""
    spec = IMPORTS[method]
    if raw is None:
        raise ContractError("X-StormConnect-Header is missing")
    if "\n" in raw or "\r" in raw:
        raise ContractError("X-StormConnect-Header must be one line of JSON")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ContractError(f"X-StormConnect-Header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise ContractError("X-StormConnect-Header must be a JSON object")
    if not _is_int(header.get("AccountId")):
        raise ContractError("X-StormConnect-Header needs an integer AccountId")
    allowed = {"AccountId", "SerializationType", "FullFile", *spec.enums}
    if spec.full_file == "absent":
        allowed.discard("FullFile")
    unknown = sorted(set(header) - allowed)
    if unknown:
        raise ContractError(f"{method} header does not take {unknown}")
    if header.get("SerializationType", 0) != 0:
        raise ContractError("SerializationType must be 0 (JSON) for a JSON body")
    _check_full_file(header, spec)
    for name, valid in spec.enums.items():
        _check_enum(header, name, valid)
    _check_cross_references(header)
    return header


def _check_full_file(header: Json, spec: ImportSpec) -> None:
    if "FullFile" not in header:
        if spec.full_file == "required":
            raise ContractError("FullFile must be sent, and false: this project sends deltas")
        return
    if header["FullFile"] is not False:
        raise ContractError("FullFile must be false: a full file deactivates unsent records")


def _check_enum(header: Json, name: str, valid: frozenset[int] | None) -> None:
    if name not in header:
        return
    values = header[name]
    if not isinstance(values, list) or not all(_is_int(v) for v in values):
        raise ContractError(f"{name} must be an array of integers")
    bad = sorted(v for v in values if (v < 0 if valid is None else v not in valid))
    if bad:
        raise ContractError(f"{name} has values the enum does not define: {bad}")


def _check_cross_references(header: Json) -> None:
    def listed(name: str) -> set[int]:
        return set(header.get(name) or [])

    product = listed("ProductFieldsThatAreSet")
    if listed("VariantFieldsThatAreSet") and 4 not in product:
        raise ContractError("VariantFieldsThatAreSet needs 4 (Variants) in ProductFields")
    if listed("ProductCultureFieldsThatAreSet") and 5 not in product:
        raise ContractError("ProductCultureFieldsThatAreSet needs 5 (Cultures) in ProductFields")
    # [I] By analogy with 4 and 5 above, which the reference documents.
    if listed("SkuFieldsThatAreSet") and 5 not in listed("VariantFieldsThatAreSet"):
        raise ContractError("SkuFieldsThatAreSet needs 5 (Skus) in VariantFields")
    ignore = listed("IgnoreSkuPriceListFieldsWhenEmpty")
    if not ignore <= listed("SkuPriceListFieldsThatAreSet"):
        raise ContractError("IgnoreSkuPriceListFieldsWhenEmpty must be in SkuPriceListFields")


def check_body(method: str, raw: bytes) -> list[Json]:
    """The parsed body, or ContractError saying what is wrong."""
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ContractError(f"body is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ContractError("body must be a JSON array of items")
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ContractError(f"item [{n}] is not an object")
        _check_no_nulls(item, f"[{n}]")
        _check_keys(item, IMPORTS[method].keys, f"[{n}]")
        if method == "Product/ImportProducts":
            _check_product(item, f"[{n}]")
        if IMPORTS[method].party:
            _check_party(item, f"[{n}]")
    return items


def _check_no_nulls(value: Any, where: str) -> None:
    # calls.py promises nulls are dropped; a null would also blank a listed field in Norce.
    if value is None:
        raise ContractError(f"null at {where}: drop the key instead")
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_no_nulls(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            _check_no_nulls(inner, f"{where}[{n}]")


def _check_keys(item: Json, keys: Sequence[str], where: str) -> None:
    for key in keys:
        if not isinstance(item.get(key), str) or not item[key]:
            raise ContractError(f"item {where} needs a non-empty string {key}")


def _check_product(product: Json, where: str) -> None:
    variants = product.get("Variants", [])
    if not isinstance(variants, list):
        raise ContractError(f"{where}.Variants must be an array")
    for v, variant in enumerate(variants):
        skus = variant.get("Skus", []) if isinstance(variant, dict) else None
        if not isinstance(skus, list):
            raise ContractError(f"{where}.Variants[{v}] must be an object with Skus array")
        if len(skus) > 1:
            raise ContractError(f"{where}.Variants[{v}] has {len(skus)} Skus; Norce allows 1")
        for s, sku in enumerate(skus):
            if not isinstance(sku, dict):
                raise ContractError(f"{where}.Variants[{v}].Skus[{s}] is not an object")
            _check_keys(sku, ("PartNo",), f"{where}.Variants[{v}].Skus[{s}]")


# JSON types of the party fields the stand-in reads; a wrong type fails deserialization.
_PARTY_TYPES = {
    "Code": "string", "EmailAddress": "string", "OrganizationNo": "string", "Id": "integer",
    "IsCompanyListDelta": "boolean",
    "IsCustomerListDelta": "boolean",
}  # fmt: skip
_PARTY_LISTS = {
    "Companies": {"Code": "string", "Id": "integer", "OrganizationNo": "string",
                  "IsPrimary": "boolean"},
    "PriceLists": {"Code": "string", "IsExclusive": "boolean"},
}  # fmt: skip


def _check_party(item: Json, where: str) -> None:
    _check_types(item, _PARTY_TYPES, where)
    for name, types in _PARTY_LISTS.items():
        entries = item.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ContractError(f"item {where}.{name} must be an array of objects")
        for n, entry in enumerate(entries):
            _check_types(entry, types, f"{where}.{name}[{n}]")


def _check_types(value: Json, types: Mapping[str, str], where: str) -> None:
    for name, kind in types.items():
        if name in value and not _has_type(value[name], kind):
            raise ContractError(f"item {where}.{name} must be a JSON {kind}")


def _has_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return _is_int(value)
    return isinstance(value, str if kind == "string" else bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def applies(spec: ImportSpec, listed: set[int], name: str, value: Any) -> bool:
    """Whether an import sets item field `name` to `value`, given the header's listed numbers."""
    number = spec.field_numbers.get(name)
    if name in spec.keys or number is None:
        return True  # match keys and fields without an enum number always count
    if number not in listed:
        return False  # Norce leaves fields that are not listed untouched
    is_zero = not isinstance(value, bool) and value == 0
    return not (spec.entity == "prices" and name in _PRICE_AMOUNTS and is_zero)

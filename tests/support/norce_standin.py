"""A local Norce Commerce Connect stand-in: a real HTTP server that checks what it gets.

It speaks the contract in /work/shared/reference/norce-connect.md sections 1-8: the OAuth2
token endpoint, the asynchronous imports, `Job/Get` and `Job/GetLog`. Anything the contract
forbids (a multi-line or malformed `X-StormConnect-Header`, `FullFile: true`, an enum value
the reference does not list, a body that is not an array of objects carrying the match keys,
a null anywhere in the body) is answered 400 with `{"Message": "..."}` saying what was wrong.

Accepted imports are recorded (`calls`) and applied to an in-memory `NorceState` keyed by the
documented match keys. Like Norce, every import only changes fields whose number is listed in
the header's `*FieldsThatAreSet` (per level for products); a listed field left out of an item
is emptied ([I] Connect is .NET: it reads the missing field as null), except on prices, where
null and 0 never overwrite (reference section 4). Products are applied item by item, level by
level (`_ProductImport`); tests seed a SKU "made in Norce" with `NorceState.add_sku`.

Customers and companies (sections 7, 8) are applied item by item, as Norce's workers do: an
item matches on Code, else Id, else EmailAddress / OrganizationNo (only Code with
`SearchOnlyByCode` listed and set); an item Norce would not import (an insert missing a required
field, an unknown company or price list, a key held by another record) is logged with SeverityId
3 and counted in the job's `Fail`, while the job still ends StatusId 2. Every record gets a
stand-in `Id` and `Created`/`Updated` stamps; a customer's companies are kept on it as
`Companies: [{"Id", "IsPrimary"}]`. Tests seed and change records "in Norce" with
`add_customer`, `add_company`, `add_price_list`, `change_customer` and `change_company`, and
read `state.customers["C-1"]` (or `[10001]`), `state.company_contacts(...)` and
`state.customer_companies(...)`.

    with run_norce_standin() as norce:
        settings = norce.settings()            # NorceSettings(mode="http", ...) for tests
        norce.fail_next(2, status=429, retry_after=3, path="Product/ImportProducts")
        norce.finish_next_jobs(1, status_id=3, messages=["Sku 42 missing"])
        web_id = norce.add_customer(first_name="Eva", email="eva@example.com")
        ...
        norce.calls, norce.state, norce.token_requests, norce.hits("Job/Get")
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from etl.config.settings import NorceSettings

TOKEN_PATH = "/identity/1.0/connect/token"
CONNECT_PATH = "/commerce/connect/4.0"

Json = dict[str, Any]


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


_CUSTOMER_RULES = PartyRules(
    "customer", "EmailAddress", ("Code", "FirstName", "LastName", "EmailAddress"), 18,
    frozenset({"Type"}), fold_third_key=True,
    insert_defaults={"Type": 1},  # [I] a customer made without a Type is a Customer (1)
)  # fmt: skip
_COMPANY_RULES = PartyRules(
    "company", "OrganizationNo", ("Code", "Name", "OrganizationNo"), 20,
    frozenset({"UseInvoiceAddressAsDeliveryAddress"}),
)  # fmt: skip
# Item switches that steer the import and are not stored; fields only Norce sets.
_CONTROL_KEYS = frozenset({"IsCompanyListDelta", "IsCustomerListDelta"})
_SERVER_KEYS = frozenset({"Id", "Created", "Updated"})
_MATCH_KEYS = frozenset({"Id", "Code", "ApplicationKey"})  # find the record; never emptied


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
        _CUSTOMER_FIELDS, _CUSTOMER_RULES,
    ),
    "Customer/ImportCompanies": ImportSpec(
        "companies", _CUSTOMER_ENUMS, "absent", (), "CompanyFieldsThatAreSet",
        _COMPANY_FIELDS, _COMPANY_RULES,
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


# ---------------------------------------------------------------- what Norce would hold


class ItemFailed(Exception):
    """Norce would not import this one item (a SeverityId 3 log entry); the job goes on."""


@dataclass
class Applied:
    """What one accepted import did: its counts and the items Norce did not import."""

    inserts: int = 0
    updates: int = 0
    failures: list[tuple[str, Json]] = field(default_factory=list)  # (message, item)


class Records(Mapping[int | str, Json]):
    """One kind of party by stand-in Id; `records["C-1"]` finds by Code, `records[10001]` by Id.

    Iterating yields Ids. Every write goes through `insert`/`update`, which keep the Code and
    third-key (e-mail, org no) indexes and refuse a Code another record holds.
    """

    def __init__(self, rules: PartyRules, first_id: int) -> None:
        self.rules = rules
        self._rows: dict[int, Json] = {}
        self._codes: dict[str, int] = {}
        self._thirds: dict[str, set[int]] = {}
        self._next_id = first_id

    def __getitem__(self, key: int | str) -> Json:
        record = self.by_code(key) if isinstance(key, str) else self.by_id(key)
        if record is None:
            raise KeyError(key)
        return record

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def by_code(self, code: str) -> Json | None:
        """The record with this Code, if any."""
        row_id = self._codes.get(code)
        return None if row_id is None else self._rows[row_id]

    def by_id(self, row_id: int) -> Json | None:
        """The record with this stand-in Id, if any."""
        return self._rows.get(row_id)

    def by_third_key(self, value: str) -> list[Json]:
        """Records whose e-mail (customers) or org no (companies) is `value`, by Id."""
        return [self._rows[i] for i in sorted(self._thirds.get(self._fold(value), ()))]

    def insert(self, fields: Json, stamp: str) -> int:
        """Add a record with the next Id, stamped Created and Updated; return its Id."""
        self._check_code(fields.get("Code"), None)
        row_id, self._next_id = self._next_id, self._next_id + 1
        self._rows[row_id] = {"Id": row_id}
        self.update(row_id, {**fields, "Created": stamp}, stamp)
        return row_id

    def update(self, row_id: int, changes: Json, stamp: str) -> Json:
        """Change a record's fields and its Updated stamp; return the record."""
        record = self._rows[row_id]
        self._check_code(changes.get("Code"), row_id)
        self._index(record, add=False)
        record.update(changes, Updated=stamp)
        self._index(record, add=True)
        return record

    def _check_code(self, code: str | None, row_id: int | None) -> None:
        holder = self._codes.get(code) if code else None
        if holder is not None and holder != row_id:
            raise ValueError(f"Code {code} already belongs to {self.rules.noun} Id {holder}")

    def _index(self, record: Json, *, add: bool) -> None:
        row_id, code, third = record["Id"], record.get("Code"), record.get(self.rules.third_key)
        holders = self._thirds.setdefault(self._fold(third), set()) if third else set()
        if add:
            self._codes.update({code: row_id} if code else {})
            holders.add(row_id)
        else:
            self._codes.pop(code or "", None)
            holders.discard(row_id)

    def _fold(self, value: str) -> str:
        return value.casefold() if self.rules.fold_third_key else value


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class NorceState:
    """Norce's records after the accepted imports, by documented match key."""

    # This project sends one variant with one SKU per product item: a product's own fields
    # (with `Cultures` by culture code) are kept by the PartNo of its SKU.
    products: dict[str, Json] = field(default_factory=dict)
    skus: dict[str, Json] = field(default_factory=dict)  # PartNo (+ its product's codes)
    prices: dict[tuple[str, str, int], Json] = field(default_factory=dict)  # PartNo, list, qty
    onhands: dict[tuple[str, str, str], Json] = field(default_factory=dict)
    customers: Records = field(default_factory=lambda: Records(_CUSTOMER_RULES, 10001))
    companies: Records = field(default_factory=lambda: Records(_COMPANY_RULES, 20001))
    pricelists: dict[str, Json] = field(default_factory=dict)  # Code
    now: Callable[[], dt.datetime] = _utc_now  # timezone-aware; stamps Created/Updated
    _last_stamp: dt.datetime | None = field(default=None, repr=False)

    def apply(self, method: str, header: Json, items: Sequence[Json]) -> Applied:
        """Merge an accepted import; return its counts and the items not imported."""
        if method == "Product/ImportProducts":
            return _ProductImport(self, header).apply(items)
        spec = IMPORTS[method]
        listed = set(header.get(spec.fields_header, [])) if spec.fields_header else set()
        if spec.party:
            return _PartyImport(self, spec, listed).apply(items)
        table: dict[Any, Json] = getattr(self, spec.entity)
        inserts = 0
        for item in items:
            key = _state_key(method, item)
            inserts += key not in table
            record = table.setdefault(key, {})
            for name, value in item.items():
                if _applies(spec, listed, name, value):
                    record[name] = copy.deepcopy(value)
            if spec.entity != "prices":  # prices: null never overwrites (reference section 4)
                for name, number in spec.field_numbers.items():
                    if number in listed and name not in item and name in record:
                        record[name] = None  # [I] listed and left out: read as null
        return Applied(inserts, len(items) - inserts)

    def stamp(self) -> str:
        """A Created/Updated value: now in UTC, and later than every stamp before it."""
        moment = self.now().astimezone(dt.UTC)
        if self._last_stamp is not None and moment <= self._last_stamp:
            moment = self._last_stamp + dt.timedelta(microseconds=1)
        self._last_stamp = moment
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def price_list_codes(self) -> set[str]:
        """Price lists that exist: imported by ImportPriceLists, seeded, or priced on."""
        return set(self.pricelists) | {key[1] for key in self.prices}

    # -- seeding and changing records as Norce itself would (web shop, Admin)

    def add_customer(
        self,
        *,
        first_name: str,
        email: str,
        last_name: str | None = None,
        code: str | None = None,
        company: str | int | None = None,
        **fields: Any,
    ) -> int:
        """Seed a customer as the web shop makes one (no Code unless given); return its Id.

        `company` (a Code or Id) becomes its primary company; `fields` are Norce field names.
        """
        names = {"FirstName": first_name, "LastName": last_name, "EmailAddress": email}
        record = {**{k: v for k, v in names.items() if v is not None}, **fields}
        if code:
            record["Code"] = code
        if company is not None:
            record["Companies"] = [{"Id": self.companies[company]["Id"], "IsPrimary": True}]
        return self.customers.insert(record, self.stamp())

    def add_company(
        self, *, name: str, organization_no: str, code: str | None = None, **fields: Any
    ) -> int:
        """Seed a company as Norce makes one on a web order (no Code unless given); its Id."""
        record = {"Name": name, "OrganizationNo": organization_no, **fields}
        if code:
            record["Code"] = code
        return self.companies.insert(record, self.stamp())

    def add_price_list(self, code: str, **fields: Any) -> None:
        """Seed a price list as if made in Norce Admin."""
        self.pricelists[code] = {"Code": code, **fields}

    def change_customer(self, key: str | int, **fields: Any) -> Json:
        """Change a customer (by Code or Id) as Norce Admin would; bumps Updated; a copy."""
        return self._change(self.customers, key, fields)

    def change_company(self, key: str | int, **fields: Any) -> Json:
        """Change a company (by Code or Id) as Norce Admin would; bumps Updated; a copy."""
        return self._change(self.companies, key, fields)

    def _change(self, table: Records, key: str | int, fields: Json) -> Json:
        if _SERVER_KEYS & fields.keys():
            raise ValueError(f"{sorted(_SERVER_KEYS)} are set by Norce only")
        record = table.update(table[key]["Id"], copy.deepcopy(fields), self.stamp())
        return copy.deepcopy(record)

    # -- relations

    def company_contacts(self, company: str | int) -> list[Json]:
        """The customers related to a company (by Code or Id), by Id."""
        company_id = self.companies[company]["Id"]
        return [
            record
            for record in self.customers.values()
            if any(r["Id"] == company_id for r in record.get("Companies", []))
        ]

    def customer_companies(self, customer: str | int) -> dict[str | int, bool]:
        """A customer's companies: Code (Id if it has none) -> IsPrimary."""
        relations = self.customers[customer].get("Companies", [])
        return {_code_or_id(self.companies[r["Id"]]): r["IsPrimary"] for r in relations}

    def add_sku(self, part_no: str, *, product: Json, sku: Json) -> None:
        """Seed a SKU and its product as if made in Norce Admin (Norce field names).

        `product` holds the product's own fields, `Cultures` by culture code among them;
        `sku` the SKU's and its variant's (`ManufacturerPartNo`).
        """
        self.products[part_no] = copy.deepcopy(product)
        code = product["ManufacturerCode"]
        self.skus[part_no] = {"PartNo": part_no, **copy.deepcopy(sku), "ManufacturerCode": code}


def _state_key(method: str, item: Json) -> Any:
    if method == "Product/ImportSkuPriceLists":
        # [I] a row without QuantityBreak is taken to be the break at 1.
        return (item["PartNo"], item["PriceListCode"], int(item.get("QuantityBreak", 1)))
    if method == "Product/ImportOnhands":
        return (item["PartNo"], item["WarehouseCode"], item["LocationCode"])
    return item["Code"]


def _applies(spec: ImportSpec, listed: set[int], name: str, value: Any) -> bool:
    number = spec.field_numbers.get(name)
    if name in spec.keys or number is None:
        return True  # match keys and fields without an enum number always count
    if number not in listed:
        return False  # Norce leaves fields that are not listed untouched
    is_zero = not isinstance(value, bool) and value == 0
    return not (spec.entity == "prices" and name in _PRICE_AMOUNTS and is_zero)


# ---------------------------------------------------------------- products

# Item field -> its number, per level of Product/ImportProducts (reference section 3).
_PRODUCT_LEVEL = {
    "ManufacturerCode": 0, "ManufacturerName": 1, "Alias": 2, "Code": 3, "Categories": 6,
    "MainImage": 7, "AdditionalImages": 8, "Family": 9, "ProductParametrics": 10,
    "AssortmentCode": 14,
}  # fmt: skip
_CULTURE_LEVEL = {
    "Name": 0, "SubHeader": 2, "SubDescription": 3, "DescriptionHeader": 4, "Description": 5,
    "Synonyms": 7, "Title": 8, "Tags": 9, "MetaTags": 10, "MetaDescription": 11,
    "UniqueUrlName": 13,
}  # fmt: skip
_VARIANT_LEVEL = {
    "ManufacturerPartNo": 0, "SortOrderValue": 1, "StockDisplayBreakPoint": 2,
    "IsDangerousGoods": 3, "MainImage": 6, "AdditionalImages": 7,
}  # fmt: skip
_SKU_LEVEL = {
    "Status": 1, "Type": 2, "IntegrationPartNo": 3, "CommodityCode": 4, "EanCode": 5,
    "TrackingCode": 6, "UnitOfMeasurementType": 7, "UnitOfMeasurementCount": 8,
    "IsDropShipOnly": 9, "IsBuyable": 10, "DiscountClass": 11, "RecommendedSalesQty": 12,
    "IsRecommendedSalesQtyFixed": 13, "ActualWeight": 14, "VolumeWeight": 15,
    "LogisticWidth": 16, "LogisticHeight": 18, "LogisticDepth": 19, "StandardPrice": 20,
    "VatRates": 21, "StartDate": 23, "StopDate": 24,
}  # fmt: skip
_VARIANTS, _CULTURES, _SKUS, _CODE = 4, 5, 5, 3


@dataclass(frozen=True)
class _Level:
    """One level of a product item and the header array that governs it."""

    header: str
    numbers: Mapping[str, int]
    create_only: Mapping[int, str] = field(default_factory=dict)  # number -> field it sets

    def listed(self, header: Json) -> set[int]:
        return set(header.get(self.header) or [])

    def apply(self, record: Json, item: Json, header: Json, created: bool) -> None:
        """Set exactly the listed fields; a listed one left out of the item becomes null."""
        listed = self.listed(header)
        for name, number in self.numbers.items():
            if number in listed:
                record[name] = copy.deepcopy(item.get(name))
        for number, name in self.create_only.items():
            if number in listed and created:
                record[name] = copy.deepcopy(item.get(name))


_PRODUCT = _Level("ProductFieldsThatAreSet", _PRODUCT_LEVEL, {15: "Categories"})
_CULTURE = _Level("ProductCultureFieldsThatAreSet", _CULTURE_LEVEL, {1: "Name", 6: "Description"})
_VARIANT = _Level("VariantFieldsThatAreSet", _VARIANT_LEVEL)
_SKU = _Level("SkuFieldsThatAreSet", _SKU_LEVEL, {22: "Status"})


class _ProductImport:
    """One ImportProducts call applied SKU by SKU, level by level, as Norce does.

    An item finds its SKU by PartNo (reference section 3: enough for an update); match keys
    are always read. A nested list (Variants 4, Cultures 5, Skus 5) is applied only when
    listed, and each level sets exactly the fields its header array lists. A SKU Norce does
    not have is created only with what a create needs (ManufacturerCode, ManufacturerPartNo,
    PartNo, Status and Type, S19); its identities are stored whether listed or not.
    """

    def __init__(self, state: NorceState, header: Json) -> None:
        self.state, self.header = state, header

    def apply(self, items: Sequence[Json]) -> Applied:
        applied = Applied()
        for n, product in enumerate(items):
            for variant in product.get("Variants", []):
                for sku in variant.get("Skus", []):
                    try:
                        created = self._apply(product, variant, sku)
                    except ItemFailed as exc:
                        message = f"Product [{n}] (PartNo {sku['PartNo']}) not imported: {exc}"
                        applied.failures.append((message, product))
                        continue
                    applied.inserts += created
                    applied.updates += not created
        return applied

    def _apply(self, product: Json, variant: Json, sku: Json) -> bool:
        part_no, created = sku["PartNo"], sku["PartNo"] not in self.state.skus
        if _CODE in _PRODUCT.listed(self.header) and not product.get("Code"):
            raise ItemFailed("Code (3) is listed, so every product must carry one")
        if created:
            self._check_create(variant, sku)
        own = self.state.products.setdefault(part_no, {})
        record = self.state.skus.setdefault(part_no, {"PartNo": part_no})
        if created:
            own["ManufacturerCode"] = product["ManufacturerCode"]
            record["ManufacturerPartNo"] = variant["ManufacturerPartNo"]
        _PRODUCT.apply(own, product, self.header, created)
        if _CULTURES in _PRODUCT.listed(self.header):
            cultures = own.setdefault("Cultures", {})
            for culture in product.get("Cultures", []):
                entry = cultures.setdefault(culture["CultureCode"], {})
                _CULTURE.apply(entry, culture, self.header, created)
        if _VARIANTS in _PRODUCT.listed(self.header):
            _VARIANT.apply(record, variant, self.header, created)
            if _SKUS in _VARIANT.listed(self.header):
                _SKU.apply(record, sku, self.header, created)
        record["ManufacturerCode"] = own["ManufacturerCode"]
        return created

    def _check_create(self, variant: Json, sku: Json) -> None:
        sku_listed = _SKU.listed(self.header)
        reaches = _VARIANTS in _PRODUCT.listed(self.header) and _SKUS in _VARIANT.listed(
            self.header
        )
        status = bool(sku_listed & {1, 22}) and "Status" in sku
        kind = 2 in sku_listed and "Type" in sku
        if not (reaches and status and kind and variant.get("ManufacturerPartNo")):
            raise ItemFailed(
                "a new SKU needs ManufacturerPartNo, and Status (1 or 22) and Type (2) "
                "listed and sent, with Variants (4) and Skus (5)"
            )


# ---------------------------------------------------------------- customers and companies


class _PartyImport:
    """One ImportCustomers/ImportCompanies call applied item by item, as Norce does.

    Without SearchOnlyByCode an item matches on Code, else Id, else its third key (e-mail,
    org no), and every key it carries that finds a record must find the same one: that is
    how a Code is written back onto a record born without one, and how a Code, e-mail or
    org no already held by another record fails the item instead of merging two parties.
    """

    def __init__(self, state: NorceState, spec: ImportSpec, listed: set[int]) -> None:
        assert spec.party is not None and spec.fields_header is not None
        self.state, self.spec, self.rules, self.listed = state, spec, spec.party, listed
        self.table: Records = getattr(state, spec.entity)
        self.price_lists = state.price_list_codes()

    def apply(self, items: Sequence[Json]) -> Applied:
        applied = Applied()
        for n, item in enumerate(items):
            try:
                inserted = self._apply(item)
            except ItemFailed as exc:
                noun = self.rules.noun.capitalize()
                applied.failures.append((f"{noun} [{n}]{_named(item)} not imported: {exc}", item))
                continue
            applied.inserts += inserted
            applied.updates += not inserted
        return applied

    def _apply(self, item: Json) -> bool:
        # The header's SearchOnlyByCode number is the switch (no item property in the contract).
        target = self._match(item, self.rules.search_only_by_code in self.listed)
        if target is None:
            self._check_insert(item)
        changes = self._changes(item, target)
        if target is None:
            self.table.insert({**self.rules.insert_defaults, **changes}, self.state.stamp())
            return True
        self.table.update(target["Id"], changes, self.state.stamp())
        return False

    def _match(self, item: Json, search_only: bool) -> Json | None:
        # [C] Norce's order: Id; else Code; the e-mail or org no only when Id and Code are
        # both omitted (docs: Connect customerservice schemas customer/company). A new Code
        # sent with the e-mail matches nothing and takes the insert path.
        code = self._key(item, "Code")
        by_code = self.table.by_code(code) if code else None
        if search_only:
            return by_code
        by_id = self._by_id(item)
        if by_code and by_id and by_code is not by_id:
            raise ItemFailed(f"Code {code} already belongs to {self._describe(by_code)}, "
                             f"not to Id {by_id['Id']}")  # fmt: skip
        target = by_id or by_code or (None if code else self._by_third_key(item))
        self._check_third_key(item, target, code if by_code else None)
        if target and code and not by_code and target.get("Code"):
            # Found by Id or third key, but already coded otherwise: Norce would not re-code.
            key = "Id" if by_id else self.rules.third_key
            raise ItemFailed(f"{key} {item[key]} is {self._describe(target)}, not Code {code}")
        return target

    def _by_id(self, item: Json) -> Json | None:
        if "Id" not in item:
            return None
        record = self.table.by_id(item["Id"])
        if record is None:
            raise ItemFailed(f"no {self.rules.noun} has Id {item['Id']}")
        return record

    def _by_third_key(self, item: Json) -> Json | None:
        value = self._key(item, self.rules.third_key)
        found = self.table.by_third_key(value) if value else []
        if len(found) > 1:
            ids = ", ".join(str(r["Id"]) for r in found)
            raise ItemFailed(f"{self.rules.third_key} {value} matches {self.rules.noun} Ids "
                             f"{ids}; send the Code or Id")  # fmt: skip
        return found[0] if found else None

    def _check_third_key(self, item: Json, target: Json | None, code: str | None) -> None:
        value = self._key(item, self.rules.third_key)
        holders = self.table.by_third_key(value) if value else []
        if not holders or any(r is target for r in holders):
            return
        if target is None:
            # [I] A new record may not share the e-mail or org no (no SearchOnlyByCode).
            ids = ", ".join(str(r["Id"]) for r in holders)
            raise ItemFailed(f"{self.rules.third_key} {value} matches {self.rules.noun} Ids "
                             f"{ids}; send the Id to give that record a Code")  # fmt: skip
        prefix = f"Code {code} already belongs to {self._describe(target)}; " if code else ""
        raise ItemFailed(f"{prefix}{self.rules.third_key} {value} already belongs to "
                         f"{self._describe(holders[0])}")  # fmt: skip

    def _key(self, item: Json, name: str) -> str | None:
        value = item.get(name)
        if value == "":
            raise ItemFailed(f"{name} is empty")
        return value

    def _changes(self, item: Json, target: Json | None) -> Json:
        changes = {
            name: copy.deepcopy(value) for name, value in item.items() if self._stored(name, value)
        }
        if "PriceLists" in changes:
            self._check_price_lists(changes["PriceLists"])
        if "Companies" in changes and self.spec.entity == "customers":
            delta = item.get("IsCompanyListDelta") is True
            changes["Companies"] = self._relations(changes["Companies"], target, delta)
        if target is not None:
            # [I] Connect is .NET: a field left out deserialises as null, and the header's
            # FieldsThatAreSet says which fields to set, so a listed field that is not sent
            # is emptied (how the ERP clears a phone number), not kept.
            for name, number in self.spec.field_numbers.items():
                if number in self.listed and name not in item and name not in _MATCH_KEYS:
                    changes[name] = None
        return changes

    def _stored(self, name: str, value: Any) -> bool:
        if name in _CONTROL_KEYS or name in _SERVER_KEYS:
            return False
        if name not in self.spec.field_numbers:
            return name in self.rules.unnumbered  # Norce drops fields it does not know
        return _applies(self.spec, self.listed, name, value)

    def _check_price_lists(self, entries: list[Json]) -> None:
        for n, entry in enumerate(entries):
            code = entry.get("Code")
            if not code:
                raise ItemFailed(f"PriceLists[{n}] has no Code")
            if code not in self.price_lists:
                raise ItemFailed(f"PriceLists[{n}]: price list {code} does not exist; "
                                 "create it with ImportPriceLists first")  # fmt: skip

    def _relations(self, entries: list[Json], target: Json | None, delta: bool) -> list[Json]:
        primary = {self._company(e, n)["Id"]: e.get("IsPrimary") is True
                   for n, e in enumerate(entries)}  # fmt: skip
        kept = (target or {}).get("Companies", []) if delta else []
        merged = {r["Id"]: r["IsPrimary"] for r in kept} | primary
        return [{"Id": company_id, "IsPrimary": p} for company_id, p in merged.items()]

    def _company(self, entry: Json, n: int) -> Json:
        companies = self.state.companies
        if "Code" in entry:
            found, named = companies.by_code(entry["Code"]), f"Code {entry['Code']}"
        elif "Id" in entry:
            found, named = companies.by_id(entry["Id"]), f"Id {entry['Id']}"
        elif "OrganizationNo" in entry:
            matches = companies.by_third_key(entry["OrganizationNo"])
            found = matches[0] if len(matches) == 1 else None
            named = f"OrganizationNo {entry['OrganizationNo']}"
        else:
            raise ItemFailed(f"Companies[{n}] names no company: send Code, Id or OrganizationNo")
        if found is None:
            raise ItemFailed(f"Companies[{n}]: no single company with {named}; "
                             "import the company first")  # fmt: skip
        return found

    def _check_insert(self, item: Json) -> None:
        problems = []
        for name in self.rules.required:
            if not item.get(name):
                problems.append(f"{name} is missing")
            elif self.spec.field_numbers[name] not in self.listed:
                number = self.spec.field_numbers[name]
                problems.append(f"{name} ({number}) is not in {self.spec.fields_header}")
        if problems:
            needs = ", ".join(self.rules.required)
            raise ItemFailed(f"a new {self.rules.noun} needs {needs}: {'; '.join(problems)}")

    def _describe(self, record: Json) -> str:
        code = f" (Code {record['Code']})" if record.get("Code") else ""
        return f"{self.rules.noun} Id {record['Id']}{code}"


def _named(item: Json) -> str:
    for name in ("Code", "Id", "EmailAddress", "OrganizationNo"):
        if item.get(name) not in (None, ""):
            return f" ({name} {item[name]})"
    return ""


def _code_or_id(record: Json) -> str | int:
    code: str | int = record.get("Code") or record["Id"]
    return code


# ---------------------------------------------------------------- jobs, faults, the server


@dataclass
class RecordedCall:
    """One accepted import as the stand-in received it."""

    method: str
    header: Json
    items: list[Json]
    job_id: str
    http_headers: dict[str, str]  # lower-cased names


@dataclass
class _Job:
    job_id: int
    totals: int
    inserts: int
    updates: int
    status_id: int
    fail: int
    log: list[Json]
    polls: int = 0


@dataclass
class _JobPlan:
    remaining: int
    status_id: int
    messages: tuple[str, ...]
    severity: int
    validation_messages: tuple[str, ...]


@dataclass
class _Fault:
    remaining: int
    path: str | None
    status: int | None
    retry_after: float | None
    delay: float
    message: str | None = None  # Norce's Message; "injected <status>" when None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or path.endswith(self.path))


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Extension = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes], Answer | None]


class NorceStandin:
    """The stand-in's behaviour and records; `run_norce_standin` serves it over HTTP."""

    def __init__(
        self,
        *,
        client_id: str = "etl-test-client",
        client_secret: str = "standin-secret-do-not-leak",
        scope: str = "playground",
        token_lifetime: int = 3600,
        polls_before_finish: int = 1,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.base_url = ""  # set once the server is listening
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.token_lifetime = token_lifetime
        self.polls_before_finish = polls_before_finish
        self.insert_key = "Insert"  # the docs' spelling; set to "Inserts" for the C# one
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._issued: list[str] = []
        self._calls: list[RecordedCall] = []
        self._requests: list[tuple[str, str]] = []
        self._state = NorceState() if now is None else NorceState(now=now)
        self._jobs: dict[int, _Job] = {}
        self._next_job_id = 4711
        self._faults: list[_Fault] = []
        self._plans: list[_JobPlan] = []
        self.token_requests = 0
        # Further APIs (Query, the Order service) plug in here; each answers its own paths
        # (returning None for others) and runs under the stand-in's lock, after the faults.
        self.extensions: list[Extension] = []

    # -- what tests read

    @property
    def calls(self) -> list[RecordedCall]:
        """Accepted imports, in arrival order."""
        with self._lock:
            return list(self._calls)

    @property
    def state(self) -> NorceState:
        """A copy of what Norce would hold now."""
        with self._lock:
            return copy.deepcopy(self._state)

    @property
    def live_state(self) -> NorceState:
        """The state itself, for extensions: they run under the lock, so must not take it."""
        return self._state

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token handed out, oldest first (to check none leaks)."""
        with self._lock:
            return list(self._issued)

    def hits(self, path: str | None = None) -> int:
        """Requests received whose path ends with `path` (all requests when None)."""
        with self._lock:
            return sum(1 for _, p in self._requests if path is None or p.endswith(path))

    def settings(self, **overrides: Any) -> NorceSettings:
        """NorceSettings pointing here, with test-speed timeouts, polling and backoff."""
        values: dict[str, Any] = {
            "mode": "http",
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": SecretStr(self.client_secret),
            "scope": self.scope,
            "account_id": 1001,
            "request_timeout_seconds": 2.0,
            "max_attempts": 3,
            "backoff_seconds": 0.0,
            "job_poll_seconds": 0.0,
            "job_timeout_seconds": 5.0,
        }
        return NorceSettings(**{**values, **overrides})

    # -- records changed "in Norce" (web shop, Admin); see the NorceState methods

    def add_customer(self, **fields: Any) -> int:
        """Seed a customer, by default without a Code as the web shop makes one; its Id."""
        with self._lock:
            return self._state.add_customer(**fields)

    def add_company(self, **fields: Any) -> int:
        """Seed a company, by default without a Code as a web order makes one; its Id."""
        with self._lock:
            return self._state.add_company(**fields)

    def add_price_list(self, code: str, **fields: Any) -> None:
        """Seed a price list as if made in Norce Admin."""
        with self._lock:
            self._state.add_price_list(code, **fields)

    def change_customer(self, key: str | int, **fields: Any) -> Json:
        """Change a customer (Code or Id) in Norce; bumps its Updated; returns a copy."""
        with self._lock:
            return self._state.change_customer(key, **fields)

    def change_company(self, key: str | int, **fields: Any) -> Json:
        """Change a company (Code or Id) in Norce; bumps its Updated; returns a copy."""
        with self._lock:
            return self._state.change_company(key, **fields)

    # -- failure injection

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        path: str | None = None,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` requests whose path ends with `path` with `status` (and
        `message` as Norce's Message)."""
        with self._lock:
            self._faults.append(_Fault(count, path, status, retry_after, 0.0, message))

    def slow_next(self, count: int = 1, *, seconds: float, path: str | None = None) -> None:
        """Sleep `seconds` before answering the next `count` matching requests normally."""
        with self._lock:
            self._faults.append(_Fault(count, path, None, None, seconds))

    def finish_next_jobs(
        self,
        count: int = 1,
        *,
        status_id: int = 2,
        messages: Sequence[str] = (),
        severity: int = 3,
        validation_messages: Sequence[str] = (),
    ) -> None:
        """Shape the next `count` jobs: final StatusId, log `messages`, validation messages.

        With StatusId 2 the messages count as failed rows (`Fail`); with 3 or 4 the import
        changes nothing in the state.
        """
        with self._lock:
            plan = _JobPlan(count, status_id, tuple(messages), severity, tuple(validation_messages))
            self._plans.append(plan)

    def expire_tokens(self) -> None:
        """Forget every issued token, as if they had all expired on Norce's side."""
        with self._lock:
            self._tokens.clear()

    # -- request handling (called from server threads)

    def handle(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one HTTP request."""
        url = urlsplit(target)
        with self._lock:
            self._requests.append((verb, url.path))
            fault = next((f for f in self._faults if f.matches(url.path)), None)
            if fault:
                fault.remaining -= 1
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            wait = fault.retry_after
            extra = {} if wait is None else {"Retry-After": f"{wait:g}"}
            said = fault.message or f"injected {fault.status}"
            return Answer(fault.status, {"Message": said}, extra)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            return self._route(verb, url.path, query, headers, body)

    def _route(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        if verb == "POST" and path == TOKEN_PATH:
            return self._token(headers, body)
        for extension in self.extensions:
            answer = extension(verb, path, query, headers, body)
            if answer is not None:
                return answer
        method = path.removeprefix(CONNECT_PATH + "/")
        if not path.startswith(CONNECT_PATH + "/") or (
            method not in IMPORTS and method not in ("Job/Get", "Job/GetLog")
        ):
            return Answer(404, {"Message": f"no such endpoint {verb} {path}"})
        if not self._authorized(headers):
            return Answer(401, {"Message": "missing or invalid bearer token"},
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip
        expected = "POST" if method in IMPORTS else "GET"
        if verb != expected:
            return Answer(405, {"Message": f"{method} takes {expected}"})
        if method in IMPORTS:
            return self._import(method, headers, body)
        job = self._jobs.get(int(query["id"])) if query.get("id", "").isdigit() else None
        if job is None:
            return Answer(404, {"Message": f"no job {query.get('id')!r}"})
        return self._job_get(job) if method == "Job/Get" else Answer(200, self._job_log(job))

    def _token(self, headers: Mapping[str, str], body: bytes) -> Answer:
        self.token_requests += 1
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Answer(400, {"error": "invalid_request", "error_description": "form expected"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        credentials = (form.get("client_id"), form.get("client_secret"))
        if credentials != (self.client_id, self.client_secret):
            return Answer(401, {"error": "invalid_client"})
        if form.get("scope") != self.scope:
            return Answer(400, {"error": "invalid_scope", "error_description": form.get("scope")})
        token = f"standin-{secrets.token_hex(12)}"
        self._tokens.add(token)
        self._issued.append(token)
        lifetime = self.token_lifetime
        return Answer(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

    def authorized(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries a bearer token this stand-in issued (extensions use it)."""
        return self._authorized(headers)

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self._tokens

    def _import(self, method: str, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            if not headers.get("content-type", "").startswith("application/json"):
                raise ContractError("Content-Type must be application/json")
            header = check_header(method, headers.get("x-stormconnect-header"))
            items = check_body(method, body)
        except ContractError as exc:
            return Answer(400, {"Message": str(exc)})
        plan = self._take_plan()
        applied = self._state.apply(method, header, items) if plan.status_id == 2 else Applied()
        job = self._new_job(len(items), applied, plan)
        self._calls.append(RecordedCall(method, header, items, str(job.job_id), dict(headers)))
        summary = {
            "NrOfItemsInTotal": len(items),
            "NrOfValidationFailures": len(plan.validation_messages),
            "Messages": list(plan.validation_messages),
        }
        return Answer(200, {"StatusCode": "OK", "Description": "Import queued",
                             "JobId": str(job.job_id), "ValidationSummary": summary})  # fmt: skip

    def _take_plan(self) -> _JobPlan:
        plan = next((p for p in self._plans if p.remaining > 0), None)
        if plan is None:
            return _JobPlan(1, 2, (), 3, ())
        plan.remaining -= 1
        return plan

    def _new_job(self, totals: int, applied: Applied, plan: _JobPlan) -> _Job:
        # Items Norce could not import leave the job Succeeded with Fail > 0 (reference 2).
        self._next_job_id += 1
        entries = [_log_entry(plan.severity, m, f"row {n}") for n, m in enumerate(plan.messages)]
        entries += [_log_entry(3, message, _row(item)) for message, item in applied.failures]
        log = [_log_entry(1, "Starting import."), *entries, _log_entry(1, "Import finished.")]
        fail = len(plan.messages) + len(applied.failures) if plan.status_id == 2 else totals
        job = _Job(
            self._next_job_id, totals, applied.inserts, applied.updates, plan.status_id, fail, log
        )
        self._jobs[job.job_id] = job
        return job

    def _job_get(self, job: _Job) -> Answer:
        job.polls += 1
        done = job.polls > self.polls_before_finish
        return Answer(200, {
            "JobId": job.job_id, "StatusId": job.status_id if done else 1, "IsFinished": done,
            "Totals": job.totals, self.insert_key: job.inserts if done else 0,
            "Updates": job.updates if done else 0, "Fail": job.fail if done else 0,
            "Start": "2026-01-01T00:00:00", "Stop": "2026-01-01T00:00:01" if done else None,
            "RunTime": "00:00:01" if done else None,
        })  # fmt: skip

    def _job_log(self, job: _Job) -> list[Json]:
        return copy.deepcopy(job.log) if job.polls > self.polls_before_finish else job.log[:1]


def _row(item: Json) -> str:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def _log_entry(severity: int, message: str, row: str | None = None) -> Json:
    return {"SeverityId": severity, "Message": message, "TimeStamp": "2026-01-01T00:00:00",
            "ImportedRow": row}  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: NorceStandin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; avoid the 40 ms stall
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.standin.handle(verb, self.path, headers, body)
        raw = json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@contextmanager
def run_norce_standin(**options: Any) -> Iterator[NorceStandin]:
    """Serve a NorceStandin on 127.0.0.1 for the duration of the block."""
    standin = NorceStandin(**options)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.standin = standin
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval keeps shutdown (and so each test's teardown) fast.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name="norce-standin",
        daemon=True,
    )
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

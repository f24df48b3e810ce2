"""Norce's records after the accepted imports, by documented match key, and how tests seed and
change them "in Norce" (web shop, Admin)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.norce.answers import Json
from tests.support.norce.contract import COMPANY_RULES, CUSTOMER_RULES, IMPORTS, applies
from tests.support.norce.customers import SERVER_KEYS, PartyImport, code_or_id
from tests.support.norce.products import ProductImport
from tests.support.norce.records import Applied, Records


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
    customers: Records = field(default_factory=lambda: Records(CUSTOMER_RULES, 10001))
    companies: Records = field(default_factory=lambda: Records(COMPANY_RULES, 20001))
    pricelists: dict[str, Json] = field(default_factory=dict)  # Code
    now: Callable[[], dt.datetime] = _utc_now  # timezone-aware; stamps Created/Updated
    _last_stamp: dt.datetime | None = field(default=None, repr=False)

    def apply(self, method: str, header: Json, items: Sequence[Json]) -> Applied:
        """Merge an accepted import; return its counts and the items not imported."""
        if method == "Product/ImportProducts":
            return ProductImport(self, header).apply(items)
        spec = IMPORTS[method]
        listed = set(header.get(spec.fields_header, [])) if spec.fields_header else set()
        if spec.party:
            return PartyImport(self, spec, listed).apply(items)
        table: dict[Any, Json] = getattr(self, spec.entity)
        inserts = 0
        for item in items:
            key = _state_key(method, item)
            inserts += key not in table
            record = table.setdefault(key, {})
            for name, value in item.items():
                if applies(spec, listed, name, value):
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
        if SERVER_KEYS & fields.keys():
            raise ValueError(f"{sorted(SERVER_KEYS)} are set by Norce only")
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
        return {code_or_id(self.companies[r["Id"]]): r["IsPrimary"] for r in relations}

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

"""Norce Commerce Query (OData v4) for the stand-in: orders, invoices, parties, code lists.

Plugs into `NorceStandin.extensions` and serves, under `/commerce/query/2.0/`:
`Orders/Orders`, `Orders/Invoices`, `Core/Currencies` and `Core/Countries`, from in-memory
rows the test adds, and `Customers/Customers` and `Customers/Companies` live from the
stand-in's Connect state, so a Code written back by ImportCustomers, or a change a test makes
with `norce.change_customer`, is what Query answers next. Those two are served under Query's
names, not Connect's (see `_query_party`): `CustomerCode`, `CompanyCode`, addresses apart
with a `CountryId` from `Core/Countries`.

It is strict on purpose, so the client cannot drift from what Norce takes: a bearer token
this stand-in issued and an integer `applicationId` header are required; only the query
options our client sends are accepted per entity set; `$filter` is parsed by a small grammar
(`and`, `or`, parentheses, `eq` and `gt`, typed properties, unquoted UTC date-times, quoted
strings with doubled quotes, `null` only where a property is nullable). Anything else is a
400 saying what was wrong.

Like Norce (reference S21), the applicationId header does not filter orders: only
`ApplicationId eq ...` in the filter does. Pages are `$top` rows with an absolute
`@odata.nextLink` while more remain; `next_links=False` makes `$top` cap the whole result
(strict OData), and `next_link_base` points the links at another host.

    query = QueryStandin(norce, application_id=1042)
    query.add_order(query_order(1001, updated="2026-01-01T10:00:00Z"))
    query.fail_page(2, count=1, status=429, retry_after=2)   # page 2 of Orders/Orders
    norce.fail_next(1, status=503, path="Orders/Orders")     # the stand-in's own faults work too
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.support.norce.answers import Answer
from tests.support.norce.app import NorceStandin
from tests.support.norce.odata_filter import BadQuery, Predicate, Prop, instant, parse_filter

QUERY_PATH = "/commerce/query/2.0"
Json = dict[str, Any]

ORDER_NAVIGATION = ("Items", "Buyer", "Payer", "ShipTo", "Infos")


# ---------------------------------------------------------------- what each set accepts


@dataclass(frozen=True)
class _EntitySet:
    props: Mapping[str, Prop] = field(default_factory=dict)  # filterable properties
    options: frozenset[str] = frozenset({"$top", "$skip"})
    expand: frozenset[str] = frozenset()
    orderby: frozenset[str] = frozenset()
    select: frozenset[str] = frozenset()


# Entity sets served from the Connect state (NorceState attribute), not from added rows.
_PARTY_TABLES: Mapping[str, str] = {
    "Customers/Customers": "customers",
    "Customers/Companies": "companies",
}

_SETS: Mapping[str, _EntitySet] = {
    "Orders/Orders": _EntitySet(
        props={
            "ApplicationId": Prop("int", nullable=True),
            "StatusId": Prop("int"),
            "QuotationId": Prop("int", nullable=True),
            "OrderNo": Prop("string", nullable=True),
            "Updated": Prop("datetime", nullable=True),
            "Created": Prop("datetime"),
        },
        options=frozenset({"$filter", "$expand", "$orderby", "$top", "$skip"}),
        expand=frozenset(ORDER_NAVIGATION),
        orderby=frozenset({"Updated,Id"}),
    ),
    "Orders/Invoices": _EntitySet(
        props={"InvoiceNo": Prop("string", nullable=True)},
        options=frozenset({"$filter", "$top", "$skip"}),
    ),
    "Customers/Customers": _EntitySet(
        props={
            "Id": Prop("int"),
            "CustomerCode": Prop("string", nullable=True),
            "EmailAddress": Prop("string", nullable=True),
            "Updated": Prop("datetime", nullable=True),
        },
        options=frozenset({"$filter", "$expand", "$orderby", "$top", "$skip"}),
        expand=frozenset({"Addresses", "Companies"}),
        orderby=frozenset({"Updated,Id"}),
    ),
    "Customers/Companies": _EntitySet(
        props={
            "Id": Prop("int"),
            "CompanyCode": Prop("string", nullable=True),
            "OrganizationNo": Prop("string", nullable=True),
            "Updated": Prop("datetime", nullable=True),
        },
        options=frozenset({"$filter", "$expand", "$orderby", "$top", "$skip"}),
        expand=frozenset({"Addresses"}),
        orderby=frozenset({"Updated,Id"}),
    ),
    "Core/Currencies": _EntitySet(
        options=frozenset({"$select", "$top", "$skip"}), select=frozenset({"Id,Code"})
    ),
    "Core/Countries": _EntitySet(
        options=frozenset({"$select", "$top", "$skip"}), select=frozenset({"Id,Code"})
    ),
}


# ---------------------------------------------------------------- the extension


@dataclass
class QueryRequest:
    """One Query request as received (after the faults): entity set and query options."""

    entity_set: str
    options: dict[str, str]
    headers: dict[str, str]


@dataclass
class _PageFault:
    page: int
    remaining: int
    status: int
    retry_after: float | None


class QueryStandin:
    """Norce Query's order sets, in memory, plugged into a running NorceStandin."""

    def __init__(
        self,
        standin: NorceStandin,
        *,
        application_id: int,
        next_links: bool = True,
        next_link_base: str | None = None,
        page_cap: int = 500,
    ) -> None:
        self.standin = standin
        self.application_id = application_id
        self.next_links = next_links
        self.next_link_base = next_link_base
        self.page_cap = page_cap
        self._lock = threading.Lock()
        self._rows: dict[str, list[Json]] = {
            name: [] for name in _SETS if name not in _PARTY_TABLES
        }
        self._rows["Core/Currencies"] = [
            {"Id": 1, "Code": "SEK"}, {"Id": 2, "Code": "EUR"}, {"Id": 3, "Code": "NOK"},
            {"Id": 4, "Code": "XTS"},
        ]  # fmt: skip
        self._rows["Core/Countries"] = [{"Id": i, "Code": c} for c, i in COUNTRY_IDS.items()]
        self._faults: list[_PageFault] = []
        self.requests: list[QueryRequest] = []
        standin.extensions.append(self.handle)

    # -- what tests do

    def add_order(self, order: Json) -> None:
        """Add one Query-shaped order (see `query_order`)."""
        with self._lock:
            self._rows["Orders/Orders"].append(copy.deepcopy(order))

    def update_order(self, order_id: int, **changes: Any) -> None:
        """Change fields of the order with this Id, as Norce would after an edit."""
        with self._lock:
            for order in self._rows["Orders/Orders"]:
                if order["Id"] == order_id:
                    order.update(copy.deepcopy(changes))
                    return
        raise KeyError(order_id)

    def anonymize_customer(
        self, customer_id: int, *, flag: bool = False, scramble: bool = True
    ) -> Json:
        """Forget a customer the way we infer Norce's GDPR anonymization does it [I].

        Norce's docs say its GDPR features scramble customer data but not how (no shape, and
        no forgotten flag on Query's customers, was found). Inferred: every personal field
        gets a random token of its own (32 hex digits; an e-mail keeps the form local@domain),
        phones and the social security number are emptied, the Code (the ERP's number) and
        the Id stay, and Updated moves, so Norce raises a change event. `flag` adds
        `IsForgotten: true` (as Query's orders have [C]), in case a tenant's customers carry
        it; `scramble=False` sets only the flag. Returns the fields as changed.
        """
        changes: Json = {"IsForgotten": True} if flag else {}
        if scramble:

            def token() -> str:
                return uuid.uuid4().hex

            changes |= {
                "FirstName": token(), "LastName": token(),
                "EmailAddress": f"{token()}@{token()}.invalid",
                "PhoneNumber": None, "CellPhoneNumber": None, "SocialSecurityNumber": None,
                "InvoiceAddress": {"AddressLine1": token(), "AddressLine2": None,
                                   "CareOf": None, "ZipCode": None, "City": None},
                "DeliveryAddresses": [],
            }  # fmt: skip
        self.standin.change_customer(customer_id, **changes)
        address: Json = changes.get("InvoiceAddress", {})
        return changes | address

    def anonymize_order(self, order_id: int) -> list[str]:
        """Forget the buyer of an order as Norce does: `IsForgotten` [C reference section 16]
        and, inferred [I], every text of its address rows scrambled like a forgotten
        customer's; beside an Attention, Name (and Gln) are the company's and stay (a company
        is not a person). Returns the scrambled values (none may reach the ERP)."""
        scrambled: list[str] = []
        with self._lock:
            order = next(o for o in self._rows["Orders/Orders"] if o["Id"] == order_id)
            for role in ("Buyer", "Payer", "ShipTo"):
                if isinstance(order.get(role), dict):
                    company = bool(order[role].get("Attention"))
                    for key, value in order[role].items():
                        if isinstance(value, str) and not (company and key in ("Name", "Gln")):
                            order[role][key] = uuid.uuid4().hex
                            scrambled.append(order[role][key])
            order["IsForgotten"] = True
        return scrambled

    def add_invoice(self, invoice: Json) -> None:
        """Add one Query-shaped invoice (`InvoiceNo`, `ReferenceOrderId`, ...)."""
        with self._lock:
            self._rows["Orders/Invoices"].append(copy.deepcopy(invoice))

    def fail_page(
        self, page: int, count: int = 1, *, status: int = 429, retry_after: float | None = None
    ) -> None:
        """Answer the next `count` requests for page `page` of Orders/Orders with `status`."""
        with self._lock:
            self._faults.append(_PageFault(page, count, status, retry_after))

    def requests_for(self, entity_set: str) -> list[QueryRequest]:
        """Requests that reached `entity_set`, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.entity_set == entity_set]

    # -- serving (called by the stand-in under its lock)

    def handle(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer | None:
        """Answer requests under the Query path; None for every other path."""
        if not path.startswith(QUERY_PATH + "/"):
            return None
        entity_set = path.removeprefix(QUERY_PATH + "/")
        spec = _SETS.get(entity_set)
        if spec is None:
            return Answer(404, {"Message": f"no entity set {entity_set!r}"})
        if verb != "GET":
            return Answer(405, {"Message": "Query is read-only: use GET"})
        if not self.standin.authorized(headers):
            return Answer(401, {"Message": "missing or invalid bearer token"},
                          {"WWW-Authenticate": "Bearer"})  # fmt: skip
        with self._lock:
            self.requests.append(QueryRequest(entity_set, dict(query), dict(headers)))
            try:
                return self._answer(entity_set, spec, query, headers)
            except BadQuery as exc:
                return Answer(400, {"Message": str(exc)})

    def _answer(
        self,
        entity_set: str,
        spec: _EntitySet,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Answer:
        if not re.fullmatch(r"\d+", headers.get("applicationid", "")):
            raise BadQuery("the applicationId header (an integer) is required")
        top, skip, wanted = _options(spec, query)
        top = min(top, self.page_cap)
        fault = self._fault(entity_set, skip // top + 1)
        if fault is not None:
            return fault
        rows = [r for r in self._rows_of(entity_set) if wanted(r)]
        if query.get("$orderby") == "Updated,Id":
            rows.sort(key=_updated_then_id)
        page = [_shape(spec, query, r) for r in rows[skip : skip + top]]
        answer: Json = {"@odata.context": f"{QUERY_PATH}/$metadata#{entity_set}", "value": page}
        if self.next_links and skip + top < len(rows):
            base = self.next_link_base or self.standin.base_url
            options = {**query, "$skip": str(skip + top), "$top": str(top)}
            answer["@odata.nextLink"] = f"{base}{QUERY_PATH}/{entity_set}?{urlencode(options)}"
        return Answer(200, answer)

    def _rows_of(self, entity_set: str) -> list[Json]:
        parties = _PARTY_TABLES.get(entity_set)
        if parties is None:
            return self._rows[entity_set]
        table = getattr(self.standin.live_state, parties)
        return [_query_party(parties, table[row_id], table) for row_id in table]

    def _fault(self, entity_set: str, page: int) -> Answer | None:
        if entity_set != "Orders/Orders":
            return None
        for fault in self._faults:
            if fault.page == page and fault.remaining > 0:
                fault.remaining -= 1
                wait = fault.retry_after
                extra = {} if wait is None else {"Retry-After": f"{wait:g}"}
                return Answer(fault.status, {"Message": f"injected {fault.status}"}, extra)
        return None


def _options(spec: _EntitySet, query: Mapping[str, str]) -> tuple[int, int, Predicate]:
    """$top, $skip and the $filter predicate, once every option was checked."""
    unknown = sorted(set(query) - spec.options)
    if unknown:
        raise BadQuery(f"query options {unknown} are not accepted here")
    if "$expand" in query and not set(query["$expand"].split(",")) <= spec.expand:
        raise BadQuery(f"$expand {query['$expand']!r}: only {sorted(spec.expand)}")
    if "$orderby" in query and query["$orderby"] not in spec.orderby:
        raise BadQuery(f"$orderby {query['$orderby']!r} is not supported")
    if "$select" in query and query["$select"] not in spec.select:
        raise BadQuery(f"$select {query['$select']!r} is not supported")
    wanted: Predicate = _every_row
    if "$filter" in query:
        wanted = parse_filter(query["$filter"], spec.props)
    top, skip = query.get("$top", "500"), query.get("$skip", "0")
    if not (top.isdigit() and int(top) >= 1 and skip.isdigit()):
        raise BadQuery(f"$top must be a positive integer and $skip >= 0: {top!r}, {skip!r}")
    return int(top), int(skip), wanted


# ---------------------------------------------------------------- parties as Query has them

# Norce's own country ids are the tenant's; these stand in for them (Core/Countries).
COUNTRY_IDS = {"SE": 1, "NO": 2, "DK": 3, "FI": 4, "DE": 5}
# [C] Query 2.0 Customer: CustomerCode, CustomerCodePrefix, EmailAddress; Company:
# CompanyCode, CompanyCodePrefix, OrganizationNo, Name, VatNo, EmailAddress, PhoneNumber,
# ParentCompanyId (docs /api-reference/schemas/querycustomers; reference corrections 2).
# [C] Company IsActive, Created, Updated (same page). [I] On customers FirstName, LastName,
# PhoneNumber, CellPhoneNumber (Query 3.0's ClientCustomer names), IsActive, Created,
# Updated; the navigation properties `Addresses` and (customers) `Companies`. Field lists and
# sources: tests/fixtures/norce_contracts/query/.
_QUERY_FIELDS = {
    "customers": ("EmailAddress", "FirstName", "LastName", "PhoneNumber", "CellPhoneNumber",
                  "IsActive", "Created", "Updated"),
    "companies": ("OrganizationNo", "Name", "VatNo", "EmailAddress", "PhoneNumber", "IsActive",
                  "Created", "Updated"),
}  # fmt: skip


def _query_party(kind: str, record: Mapping[str, Any], table: Any) -> Json:
    """A customer or company of the Connect state as Query 2.0 returns it (not Connect's names)."""
    code = "CustomerCode" if kind == "customers" else "CompanyCode"
    row: Json = {"Id": record["Id"], code: record.get("Code"), f"{code}Prefix": None}
    row |= {name: record.get(name) for name in _QUERY_FIELDS[kind]}
    if "IsForgotten" in record:  # [I] only where a test forgot the customer with the flag
        row["IsForgotten"] = record["IsForgotten"]
    if kind == "companies":
        parent = record.get("ParentCompanyCode")
        found = table.by_code(parent) if parent else None
        row["ParentCompanyId"] = found["Id"] if found else None
    else:
        row["Companies"] = list(record.get("Companies", []))
    row["Addresses"] = _query_addresses(record)
    return row


def _query_addresses(record: Mapping[str, Any]) -> list[Json]:
    """Address rows: [C] CustomerModel.CustomerAddress names (AddressLine1, CountryId, TypeId
    ...; docs querycustomers schemas); [I] TypeId 1 invoice, 2 delivery; the same on companies."""
    given = [(1, record.get("InvoiceAddress"))]
    given += [(2, a) for a in record.get("DeliveryAddresses") or []]
    rows: list[Json] = []
    for type_id, address in given:
        if not isinstance(address, Mapping):
            continue
        rows.append({
            "Id": record["Id"] * 100 + len(rows) + 1, "TypeId": type_id,
            "CareOf": address.get("CareOf"), "AddressLine1": address.get("AddressLine1"),
            "AddressLine2": address.get("AddressLine2"), "ZipCode": address.get("ZipCode"),
            "City": address.get("City"), "Region": address.get("Region"),
            "CountryId": COUNTRY_IDS.get(address.get("CountryCode") or ""),
        })  # fmt: skip
    return rows


def _every_row(row: Mapping[str, Any]) -> bool:
    return True


def _shape(spec: _EntitySet, query: Mapping[str, str], row: Json) -> Json:
    """A row as Query returns it: navigation properties only when expanded, or selected."""
    if "$select" in query:
        return {k: copy.deepcopy(row.get(k)) for k in query["$select"].split(",")}
    expanded = set(query.get("$expand", "").split(",")) if "$expand" in query else set()
    return {k: copy.deepcopy(v) for k, v in row.items() if k not in spec.expand or k in expanded}


def _updated_then_id(row: Mapping[str, Any]) -> tuple[bool, dt.datetime, int]:
    # Nulls first, as SQL Server sorts them.
    updated = row.get("Updated")
    moment = instant(updated) if updated else dt.datetime.min.replace(tzinfo=dt.UTC)
    return updated is not None, moment, int(row.get("Id") or 0)


# ---------------------------------------------------------------- rows for tests


def query_order(
    quotation_id: int,
    *,
    updated: str | None,
    created: str = "2026-01-01T08:00:00Z",
    application_id: int = 1042,
    status_id: int = 0,
    currency_id: int = 1,
    items: Sequence[Json] | None = None,
    **fields: Any,
) -> Json:
    """A Query 2.0 order as `$expand=Items,Buyer,Payer,ShipTo,Infos` returns it."""
    order: Json = {
        "Id": 500_000 + quotation_id,
        "ClientId": 7,
        "ApplicationId": application_id,
        "QuotationId": quotation_id,
        "OrderNo": str(quotation_id),
        "OrderDate": created,
        "Created": created,
        "Updated": updated,
        "StatusId": status_id,
        "Source": "WEB",
        "CurrencyId": currency_id,
        "BuyerCustomerCode": "C-000123",
        "DeliveryMode": "POSTNORD",
        "PaymentTerms": "KLARNA",
        "DeliveryMark": "PO-77",
        "FreightCost": 39.2,
        "OrderFee": 0,
        "Items": list(items) if items is not None else [
            {"LineNumber": 1, "PartNo": "100123", "ProductName": "Arbetshandske L",
             "QtyOrdered": 2, "PriceSale": 79.2, "DiscountAmount": 0, "LineAmount": 158.4,
             "VatRate": 25, "StatusId": 0},
            {"LineNumber": 2, "PartNo": "FREIGHT", "ProductName": "Frakt", "QtyOrdered": 1,
             "PriceSale": 39.2, "DiscountAmount": 0, "LineAmount": 39.2, "VatRate": 25},
        ],
        # [C] Query 2.0 order addresses (reference corrections 5, S16 queryorders schema):
        # Name, Attention, Line1, EmailAddress, PhoneNumber; no FirstName or CellPhoneNumber.
        "Buyer": {"Name": "Anna Andersson", "Attention": None, "EmailAddress": "anna@example.com",
                  "PhoneNumber": "+46701234567", "Line1": "Storgatan 1", "ZipCode": "11122",
                  "City": "Stockholm", "CountryId": 1},
        "Payer": None,
        "ShipTo": {"Name": "Andersson Bygg AB", "Attention": "Anna Andersson",
                   "Line1": "Storgatan 1", "ZipCode": "11122", "City": "Stockholm",
                   "CountryId": 1},
        "Infos": [{"TypeId": 12, "Value": "Ring on arrival"}],
    }  # fmt: skip
    order.update(fields)
    return order

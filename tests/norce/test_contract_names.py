"""Every name we send to Norce, and every name the stand-in takes or serves, is one Norce has.

The field lists are test data with their source (tests/fixtures/norce_contracts/): the official
C# contracts for Connect (`connect/`, made by `extract.py` at the commit each file names), the
docs.norce.io schema pages for Query and for the JSON the docs spell differently (`query/`,
`docs/`). A stand-in written from the same notes as the product can agree with it on a wrong
name; it cannot agree with these lists.

Some Query pages were only partly stored (`"complete": false`): a name those lists lack is
"unverified" rather than wrong, and each one allowed is named in `UNVERIFIED` below, so a new
one still fails here. `run.py norce-check` reads the real names from a tenant at go-live.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from etl.config.settings import LocalStoreSettings
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.parties.supply import EXPANDS
from tests.support.documents import DOCUMENT_FEEDS, make_home, run, settings_for
from tests.support.norce import app, auth, customers, jobs, products, records
from tests.support.norce import contract as import_contract
from tests.support.norce import orders as norce_orders
from tests.support.norce import query as norce_query
from tests.support.norce.contract import IMPORTS
from tests.support.paths import REPO, SAMPLES

CONTRACTS = REPO / "tests" / "fixtures" / "norce_contracts"
GOLDEN = REPO / "tests" / "golden"
C18 = "69a13d0a0739c9e2e27eeaf21054792ce7d12221"  # StormCommerce/Storm.Connect.Contracts

# What each Connect method takes: the header's type and the body items' type.
METHODS = {
    "Product/ImportProducts": ("Product.ProductHeader", "Product.Models.Product"),
    "Product/ImportSkuPriceLists": ("Product.SkuPriceListHeader", "Product.Models.SkuPriceList"),
    "Product/ImportOnhands": ("Product.SkuOnhandHeader", "Product.Models.SkuOnhand"),
    "Product/ImportPriceLists": ("Product.PriceListHeader", "Product.Models.PriceList"),
    "Customer/ImportCustomers": ("Customer.CustomerHeader", "Customer.Models.Customer"),
    "Customer/ImportCompanies": ("Customer.CustomerHeader", "Customer.Models.Company"),
    "Order/SendOrderStatus": (None, "Order.SendOrderStatusRequest"),
    "Order/CreateDeliveryNote": (None, "Order.DeliveryNote"),
    "Order/CreateInvoice": (None, "Order.Invoice"),
    "Order/CreditPayment": (None, "Order.Invoice"),
}
# Names of partly stored Query pages that the stand-in serves or takes, not yet seen on a page.
UNVERIFIED: Mapping[str, frozenset[str]] = {
    "Orders.Order": frozenset({"DeliveryMark"}),  # on Query's DeliveryNote; Order's page cut
    "Orders.Invoice": frozenset({"Amount"}),  # [I] the page lists InvoiceAmount
    # [I] the navigation properties the party export expands (etl.to_erp.parties.supply.EXPANDS);
    # their rows are checked below: addresses against CustomerAddress, company links apart.
    "Customers.Customer": frozenset({"Addresses", "Companies"}),
    "Customers.Company": frozenset({"Addresses"}),
}
# [I] A customer's company link: Query 2.0's shape is not in the stored pages; these are
# the names etl.to_erp.parties.model.CompanyLink reads, and nothing else may appear.
COMPANY_LINK = frozenset({"Id", "Code", "OrganizationNo", "IsPrimary"})

# Names the docs show that the C# contract lacks (reference section 5: PriceListHeader has no
# FullFile in S18, the docs example sends "FullFile":false).
DOCS_ONLY: Mapping[str, frozenset[str]] = {"Product.PriceListHeader": frozenset({"FullFile"})}
# Known defects, each checked by its own test below and left out of the broad checks, so those
# keep guarding every other name. SearchOnlyByCode was sent in customer and company items,
# though no Customer or Company property has that name: the switch is the header's number.
KNOWN = frozenset({"SearchOnlyByCode"})


@dataclass(frozen=True)
class Contract:
    """One Norce type: its names, the types of its nested objects, how sure the list is."""

    type: str
    fields: frozenset[str]
    nested: Mapping[str, str]
    complete: bool
    source: str
    commit: str


@cache
def contract(name: str) -> Contract:
    """The field list of one type, from whichever folder holds it."""
    [path] = [p for p in CONTRACTS.glob(f"*/{name}.json")]
    data = json.loads(path.read_text(encoding="utf-8"))
    also = data.get("also", {}).get("fields", [])
    return Contract(
        name,
        frozenset(data["fields"]) | frozenset(also),
        data.get("nested", {}),
        data.get("complete", True),
        data["source"],
        data["commit"],
    )


def strangers(value: Any, type_name: str, where: str = "") -> Iterator[str]:
    """`where.Name` for every key in a JSON value that its Norce type does not have."""
    if isinstance(value, list):
        for n, item in enumerate(value):
            yield from strangers(item, type_name, f"{where}[{n}]")
        return
    if not isinstance(value, Mapping):
        return
    known = contract(type_name)
    allowed = known.fields | UNVERIFIED.get(type_name, frozenset())
    allowed |= DOCS_ONLY.get(type_name, frozenset())
    for name, inner in value.items():
        if name not in allowed:
            yield f"{type_name}: {where}.{name}".replace(": .", ": ")
        elif name in known.nested:
            yield from strangers(inner, known.nested[name], f"{where}.{name}")


def names(type_name: str, keys: Any) -> list[str]:
    """Every key in `keys` that the type does not have."""
    return list(strangers(dict.fromkeys(keys, None), type_name))


# ---------------------------------------------------------------- the field lists themselves


def test_every_connect_list_names_its_source_and_commit() -> None:
    for path in (CONTRACTS / "connect").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["source"] == "github:StormCommerce/Storm.Connect.Contracts", path.name
        assert data["commit"] == C18, path.name
        assert data["path"].endswith(".cs") and data["fields"], path.name
        for target in data["nested"].values():
            assert contract(target), f"{path.name} nests {target}, which has no list"


def test_only_partly_stored_lists_allow_unverified_names() -> None:
    assert [t for t in UNVERIFIED if contract(t).complete] == []


def test_the_lists_hold_what_the_reference_corrected() -> None:
    assert "PaymentCode" in contract("Order.Payment").fields
    assert "Code" not in contract("Customers.Customer").fields
    assert {"CustomerCode", "CustomerCodePrefix"} <= contract("Customers.Customer").fields
    assert "FirstName" not in contract("Orders.Address").fields
    assert "Inserts" in contract("Job.JobDto").fields
    assert "Insert" in contract("Connect.JobDto").fields


# ---------------------------------------------------------------- what the product sends


def _golden_calls() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(GOLDEN.glob("*_delta.json")):
        found += [(path.stem, call) for call in json.loads(path.read_text(encoding="utf-8"))]
    return found


def _golden_id(entry: tuple[str, dict[str, Any]]) -> str:
    return f"{entry[0]}-{entry[1]['label']}"


def _golden_strangers(call: Mapping[str, Any]) -> list[str]:
    header_type, item_type = METHODS[call["method"]]
    assert header_type is not None
    found = names(header_type, json.loads(call["header"]))
    return found + list(strangers(call["items"], item_type))


@pytest.mark.parametrize("entry", _golden_calls(), ids=_golden_id)
def test_golden_payloads_use_only_contract_names(entry: tuple[str, dict[str, Any]]) -> None:
    found = _golden_strangers(entry[1])
    assert [s for s in found if s.rsplit(".", 1)[-1] not in KNOWN] == []


def test_no_golden_payload_sends_search_only_by_code() -> None:
    found = [s for _, call in _golden_calls() for s in _golden_strangers(call)]
    assert found == []


@pytest.fixture(scope="module")
def order_service_bodies(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Any]]:
    """Every Order service call the shipped document contracts make of the shipped samples."""
    tmp = tmp_path_factory.mktemp("documents")
    erp = tmp / "erp"
    shutil.copytree(SAMPLES, erp)
    home = make_home(tmp, *DOCUMENT_FEEDS)
    for ref in SAMPLE_ORDERS:
        _received(home, ref)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    for feed in DOCUMENT_FEEDS:
        run(settings, feed)
    bodies = []
    for request in sorted((home / "outbox" / "norce").rglob("*.request.json")):
        path = json.loads(request.read_text(encoding="utf-8"))["path"]
        body = request.with_name(request.name.replace(".request.json", ".json"))
        bodies.append((path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1], _load(body)))
    return bodies


SAMPLE_ORDERS = (1234567, 1234568)  # the orders the sample documents are about


def _received(home: Path, ref: int) -> None:
    """An order as the receiver keeps it (spool and order book), with one payment."""
    payment = {"PaymentCode": 98765, "PaymentMethodCode": "KLARNA", "PaymentRef": "psp-abc"}
    body = {"ClientOrderRef": str(ref), "CurrencyCode": "SEK", "Payments": [payment]}
    state = home / "state"
    spooled = Spool(state / "spool" / "orders").put(str(ref), json.dumps(body).encode(), "json")
    orders = OrderBook(state / "ledger.sqlite")
    try:
        orders.receive(
            str(ref), spooled.sha256, spooled.path.name, "json", "push", "2026-11-20T08:00:00Z"
        )
    finally:
        orders.close()


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_order_service_bodies_from_the_samples_use_only_contract_names(
    order_service_bodies: list[tuple[str, Any]],
) -> None:
    methods = {method for method, _ in order_service_bodies}
    assert methods == {
        "Order/SendOrderStatus",
        "Order/CreateDeliveryNote",
        "Order/CreateInvoice",
        "Order/CreditPayment",
    }
    found = [
        s for method, body in order_service_bodies for s in strangers(body, METHODS[method][1])
    ]
    assert found == []


# ---------------------------------------------------------------- what the stand-in accepts


def test_the_stand_in_takes_only_header_names_the_contracts_have() -> None:
    found = []
    for method, spec in IMPORTS.items():
        allowed = {"AccountId", "SerializationType", "FullFile", *spec.enums}
        if spec.full_file == "absent":
            allowed.discard("FullFile")
        found += names(METHODS[method][0] or "", allowed)
    assert found == []


def test_the_stand_in_governs_only_item_names_the_contracts_have() -> None:
    tables = {
        "Product.Models.SkuPriceList": import_contract._PRICE_FIELDS,
        "Product.Models.SkuOnhand": import_contract._ONHAND_FIELDS,
        "Product.Models.Product": products._PRODUCT_LEVEL,
        "Product.Models.ProductCulture": products._CULTURE_LEVEL,
        "Product.Models.Variant": products._VARIANT_LEVEL,
        "Product.Models.Sku": products._SKU_LEVEL,
        "Customer.Models.Customer": import_contract._CUSTOMER_FIELDS,
        "Customer.Models.Company": import_contract._COMPANY_FIELDS,
        "Customer.Models.CompanyIdentifier": import_contract._PARTY_LISTS["Companies"],
        "Customer.Models.PriceList": import_contract._PARTY_LISTS["PriceLists"],
    }
    assert [s for type_name, keys in tables.items() for s in names(type_name, keys)] == []


def _party_switches() -> set[str]:
    either = (
        contract("Customer.Models.Customer").fields | contract("Customer.Models.Company").fields
    )
    read = (
        set(import_contract._PARTY_TYPES)
        | customers._CONTROL_KEYS
        | import_contract.CUSTOMER_RULES.unnumbered
        | import_contract.COMPANY_RULES.unnumbered
    )
    return read - either


def test_the_stand_in_reads_only_party_switches_the_contracts_have() -> None:
    assert sorted(_party_switches() - KNOWN) == []


def test_the_stand_in_takes_no_search_only_by_code_in_items() -> None:
    assert sorted(_party_switches()) == []


def _shape_strangers(shape: norce_orders.Shape, type_name: str) -> Iterator[str]:
    known = contract(type_name)
    for name, kind in shape.fields.items():
        if name not in known.fields:
            yield f"{type_name}: {name}"
            continue
        inner = kind[0] if isinstance(kind, tuple) else kind
        if isinstance(inner, norce_orders.Shape):
            yield from _shape_strangers(inner, known.nested.get(name, "?"))


def test_the_order_service_stand_in_takes_only_contract_names() -> None:
    found = [
        s
        for method, shape in norce_orders.SHAPES.items()
        for s in _shape_strangers(shape, METHODS[method][1])
    ]
    assert found == []


# ---------------------------------------------------------------- what the stand-in serves


def test_job_answers_use_the_docs_or_the_contract_names() -> None:
    standin = app.NorceStandin()
    job = standin.jobs.new(1, records.Applied(1, 0), jobs.JobPlan(1, 2, (), 3, ()))
    served = standin.jobs.get(job).body
    entries = standin.jobs.log(job)
    either = contract("Job.JobDto").fields | contract("Connect.JobDto").fields
    assert sorted(set(served) - either) == []
    assert [s for e in entries for s in names("Job.JobLogDto", e)] == []


def test_import_answers_use_the_documented_names() -> None:
    standin = app.NorceStandin()
    standin.auth.live.add("t")
    body = b'[{"PartNo":"1","WarehouseCode":"W","LocationCode":"L","OnhandValue":1}]'
    header = '{"AccountId":1,"FullFile":false,"SkuOnhandFieldsThatAreSet":[3]}'
    answer = standin.handle(
        "POST",
        "/commerce/connect/4.0/Product/ImportOnhands",
        {
            "authorization": "Bearer t",
            "content-type": "application/json",
            "x-stormconnect-header": header,
        },
        body,
    )
    assert answer.status == 200
    assert list(strangers(answer.body, "Connect.ImportResponse")) == []


ADDRESSES = ("Buyer", "Payer", "ShipTo")


def test_query_orders_served_by_the_stand_in_use_query_names() -> None:
    order = norce_query.query_order(1001, updated="2026-01-01T10:00:00Z")
    found = list(strangers({k: v for k, v in order.items() if k not in ADDRESSES}, "Orders.Order"))
    assert found == []


def test_query_order_addresses_served_by_the_stand_in_use_query_names() -> None:
    order = norce_query.query_order(1001, updated="2026-01-01T10:00:00Z")
    assert list(strangers({k: order[k] for k in ADDRESSES}, "Orders.Order")) == []


def test_query_order_filters_and_invoices_of_the_stand_in_use_query_names() -> None:
    found = names("Orders.Order", norce_query._SETS["Orders/Orders"].props)
    found += names("Orders.Invoice", norce_query._SETS["Orders/Invoices"].props)
    invoice = {"Id": 1, "InvoiceNo": "INV-1", "ReferenceOrderId": 500_001, "Amount": 1}
    found += names("Orders.Invoice", invoice)  # as OrderStandin._to_query adds them
    assert found == []


def _served(entity_set: str, expand: str = "") -> list[dict[str, Any]]:
    """The rows the Query stand-in answers for a party set, with one company and one contact."""
    standin = app.NorceStandin()
    norce_query.QueryStandin(standin, application_id=1042)
    address = {"AddressLine1": "Storgatan 1", "ZipCode": "111 22", "City": "Stockholm",
               "CountryCode": "SE"}  # fmt: skip
    company = standin.add_company(
        name="Kund AB", organization_no="556677-8899", code="K-1", InvoiceAddress=address
    )
    standin.add_customer(
        first_name="Eva", last_name="E", email="eva@example.com", code="C-1", company=company,
        InvoiceAddress=address,
    )  # fmt: skip
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": standin.client_id,
            "client_secret": standin.client_secret,
            "scope": standin.scope,
        }
    ).encode()
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    token = standin.handle("POST", auth.TOKEN_PATH, form_type, form).body
    headers = {"authorization": f"Bearer {token['access_token']}", "applicationid": "1042"}
    query = f"$top=10&$expand={expand}" if expand else "$top=10"
    answer = standin.handle("GET", f"{norce_query.QUERY_PATH}/{entity_set}?{query}", headers, b"")
    assert answer.status == 200, answer.body
    rows: list[dict[str, Any]] = answer.body["value"]
    assert rows
    return rows


def _party_strangers(entity_set: str, type_name: str) -> list[str]:
    found = list(strangers(_served(entity_set), type_name))
    return found + names(type_name, norce_query._SETS[entity_set].props)


@pytest.mark.parametrize(
    ("entity_set", "type_name"),
    [("Customers/Customers", "Customers.Customer"), ("Customers/Companies", "Customers.Company")],
)
def test_query_parties_served_by_the_stand_in_use_query_names(
    entity_set: str, type_name: str
) -> None:
    assert _party_strangers(entity_set, type_name) == []


@pytest.mark.parametrize(
    ("entity_set", "type_name", "kind"),
    [
        ("Customers/Customers", "Customers.Customer", "customer"),
        ("Customers/Companies", "Customers.Company", "company"),
    ],
)
def test_parties_read_as_the_party_export_reads_them_use_query_names(
    entity_set: str, type_name: str, kind: str
) -> None:
    rows = _served(entity_set, EXPANDS[kind])
    found = list(strangers(rows, type_name))
    for n, row in enumerate(rows):
        assert row.get("Addresses"), "the stand-in serves no address to check"
        found += strangers(row["Addresses"], "Customers.CustomerAddress", f"[{n}].Addresses")
        for link in row.get("Companies") or []:
            found += [f"[{n}].Companies.{k}" for k in link if k not in COMPANY_LINK]
    assert found == []

"""QueryClient against the stand-in's strict Query extension over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from etl.errors import ConfigError, NorceRejected, NorceUnavailable
from etl.norce.client import NorceClient
from etl.norce.query import (
    COMPANIES,
    CUSTOMERS,
    ORDERS,
    QueryClient,
    odata_datetime,
    odata_string,
)
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin, query_order
from tests.support.norce.samples import price_call

APP = 1042
QUERY_PATH = "/commerce/query/2.0"


@pytest.fixture
def store(norce: NorceStandin) -> QueryStandin:
    return QueryStandin(norce, application_id=APP)


@pytest.fixture
def query(norce: NorceStandin, fake_time: FakeTime) -> Iterator[QueryClient]:
    settings = norce.settings(application_id=APP)
    with QueryClient(settings, QUERY_PATH, sleep=fake_time.sleep, clock=fake_time.clock) as q:
        yield q


def five_orders(store: QueryStandin) -> list[int]:
    refs = [1001, 1002, 1003, 1004, 1005]
    for n, ref in enumerate(refs):
        store.add_order(query_order(ref, updated=f"2026-01-01T1{n}:00:00Z"))
    return refs


def test_odata_datetime_is_unquoted_utc_whole_seconds() -> None:
    cet = dt.timezone(dt.timedelta(hours=2))
    assert odata_datetime(dt.datetime(2025, 5, 1, 2, 0, 0, 999_999, cet)) == "2025-05-01T00:00:00Z"
    with pytest.raises(ValueError, match="no time zone"):
        odata_datetime(dt.datetime(2025, 5, 1))


def test_odata_string_doubles_quotes_and_refuses_control_characters() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"
    assert odata_string("") == "''"
    with pytest.raises(ValueError, match="control characters"):
        odata_string("12\nOrderNo eq '1'")


def test_pages_follow_the_next_link_with_token_and_application_id(
    norce: NorceStandin, store: QueryStandin, query: QueryClient
) -> None:
    five_orders(store)
    pages = list(query.pages(ORDERS, filter=f"ApplicationId eq {APP}", orderby="Updated,Id", top=2))
    quotations = [[o["QuotationId"] for o in page] for page in pages]
    assert quotations == [[1001, 1002], [1003, 1004], [1005]]
    seen = store.requests_for(ORDERS)
    assert len(seen) == 3
    assert all(r.headers["applicationid"] == str(APP) for r in seen)
    assert all(r.headers["authorization"].startswith("Bearer standin-") for r in seen)
    assert seen[0].options == {
        "$filter": f"ApplicationId eq {APP}",
        "$orderby": "Updated,Id",
        "$top": "2",
    }
    assert seen[1].options["$skip"] == "2"
    assert norce.token_requests == 1


def test_without_next_links_a_full_page_is_followed_by_skip(
    norce: NorceStandin, query: QueryClient
) -> None:
    store = QueryStandin(norce, application_id=APP, next_links=False)
    five_orders(store)
    rows = [o for page in query.pages(ORDERS, orderby="Updated,Id", top=2) for o in page]
    assert [o["QuotationId"] for o in rows] == [1001, 1002, 1003, 1004, 1005]
    assert [r.options.get("$skip") for r in store.requests_for(ORDERS)] == [None, "2", "4"]


def test_a_next_link_to_another_host_is_refused(norce: NorceStandin, query: QueryClient) -> None:
    store = QueryStandin(norce, application_id=APP, next_link_base="http://attacker.example:80")
    five_orders(store)
    pages = query.pages(ORDERS, top=2)
    assert len(next(pages)) == 2
    with pytest.raises(NorceRejected, match=r"Query Orders/Orders page 1: .*attacker\.example"):
        next(pages)
    assert len(store.requests_for(ORDERS)) == 1


def test_expand_brings_navigation_properties_only_when_asked(
    store: QueryStandin, query: QueryClient
) -> None:
    five_orders(store)
    bare = next(query.pages(ORDERS, top=1))[0]
    assert "Items" not in bare and "Buyer" not in bare
    full = next(query.pages(ORDERS, expand="Items,Buyer", top=1))[0]
    assert full["Items"][0]["PartNo"] == "100123" and "Infos" not in full


def test_a_429_on_a_later_page_waits_retry_after_and_goes_on(
    store: QueryStandin, query: QueryClient, fake_time: FakeTime
) -> None:
    five_orders(store)
    store.fail_page(2, status=429, retry_after=7)
    pages = list(query.pages(ORDERS, top=2))
    assert sum(len(p) for p in pages) == 5
    assert fake_time.sleeps == [7.0]


def test_errors_name_the_entity_set_and_the_page(
    norce: NorceStandin, store: QueryStandin, query: QueryClient
) -> None:
    five_orders(store)
    store.fail_page(3, count=3, status=503)
    with pytest.raises(NorceUnavailable, match=r"Query Orders/Orders page 3 after 3 attempts"):
        list(query.pages(ORDERS, top=2))


def test_a_filter_the_stand_in_does_not_take_is_refused_with_its_reason(
    store: QueryStandin, query: QueryClient
) -> None:
    for drifted, reason in [
        ("StatusId in (0,2)", "cannot read"),
        ("StatusId ne 0", "operator 'ne' is not supported"),
        ("Updated gt '2026-01-01T00:00:00Z'", "Updated is datetime"),
        ("Updated gt 2026-01-01T00:00:00", "cannot read"),
        ("QuotationId eq '1001'", "QuotationId is int"),
        ("Colour eq 'red'", "'Colour' is not a filterable property"),
        ("StatusId eq 0 and", "ends where a property was expected"),
    ]:
        with pytest.raises(NorceRejected, match=rf"HTTP 400: .*{reason}"):
            list(query.pages(ORDERS, filter=drifted))


def test_find_order_by_quotation_id_or_order_no(store: QueryStandin, query: QueryClient) -> None:
    store.add_order(query_order(1001, updated=None))
    store.add_order(query_order(1002, updated=None, OrderNo="ERP-9"))
    store.add_order(query_order(1003, updated=None, QuotationId=None, OrderNo="O'Hara-1"))
    store.add_order(query_order(1004, updated=None, application_id=77))
    found = query.find_order("1002")
    assert found is not None and found["OrderNo"] == "ERP-9"
    by_order_no = query.find_order("O'Hara-1")
    assert by_order_no is not None and by_order_no["Id"] == 501003
    assert query.find_order("1004") is None  # another application's order
    assert query.find_order("0001001") is None  # not a canonical QuotationId, and no OrderNo
    filters = [r.options["$filter"] for r in store.requests_for(ORDERS)]
    assert filters[0] == f"ApplicationId eq {APP} and (QuotationId eq 1002 or OrderNo eq '1002')"
    assert filters[1] == f"ApplicationId eq {APP} and (OrderNo eq 'O''Hara-1')"


def test_find_invoice_by_invoice_no(store: QueryStandin, query: QueryClient) -> None:
    store.add_invoice({"Id": 9, "InvoiceNo": "F-100", "ReferenceOrderId": 501001})
    found = query.find_invoice("F-100")
    assert found is not None and found["ReferenceOrderId"] == 501001
    assert query.find_invoice("F-101") is None
    assert store.requests_for("Orders/Invoices")[0].options["$filter"] == "InvoiceNo eq 'F-100'"


def test_code_lists_map_ids_to_codes(store: QueryStandin, query: QueryClient) -> None:
    assert query.codes("Core/Currencies")[1] == "SEK"
    assert query.codes("Core/Countries") == {1: "SE", 2: "NO", 3: "DK", 4: "FI", 5: "DE"}


def test_query_and_connect_share_one_token(
    norce: NorceStandin, store: QueryStandin, fake_time: FakeTime
) -> None:
    settings = norce.settings(application_id=APP)
    with NorceClient(settings, sleep=fake_time.sleep, clock=fake_time.clock) as connect:
        connect.post_import(price_call())
        query = QueryClient(settings, QUERY_PATH, connect=connect)
        assert query.find_order("1") is None
        query.close()  # lent: must not close the Connect client's pool
        connect.post_import(price_call())
    assert norce.token_requests == 1


def test_an_application_id_is_required(norce: NorceStandin) -> None:
    with pytest.raises(ConfigError, match=r"norce\.application_id"):
        QueryClient(norce.settings(), QUERY_PATH)


def test_customers_and_companies_are_read_live_from_the_connect_state(
    norce: NorceStandin, store: QueryStandin, query: QueryClient
) -> None:
    company = norce.add_company(name="Bygg AB", organization_no="556600-0007")
    anna = norce.add_customer(first_name="Anna", email="anna@x.se", company=company)
    norce.add_customer(first_name="Anna", email="ANNA@x.se", code="C-9")

    by_id = query.find_parties(CUSTOMERS, "Id", anna)
    assert [r["EmailAddress"] for r in by_id] == ["anna@x.se"]
    assert by_id[0]["CustomerCode"] is None  # born on the web: no ERP number yet
    assert [r["Id"] for r in query.find_parties(COMPANIES, "OrganizationNo", "556600-0007")] == [
        company
    ]
    assert query.find_parties(CUSTOMERS, "CustomerCode", "C-404") == []

    norce.change_customer(anna, Code="C-1")  # as a write-back would: Query sees it at once
    assert [r["Id"] for r in query.find_parties(CUSTOMERS, "CustomerCode", "C-1")] == [anna]
    assert [r["Id"] for r in query.find_parties(CUSTOMERS, "CustomerCode", "it's")] == []


def test_party_sets_refuse_what_they_do_not_filter_on(
    norce: NorceStandin, store: QueryStandin, query: QueryClient
) -> None:
    with pytest.raises(NorceRejected, match="FirstName"):
        query.find_parties(CUSTOMERS, "FirstName", "Anna")


def test_parties_are_served_under_query_names_with_addresses_apart(
    norce: NorceStandin, store: QueryStandin, query: QueryClient
) -> None:
    # [C] Query 2.0: CustomerCode, CompanyCode, OrganizationNo; no `Code`; addresses are
    # entities of their own with a CountryId (reference corrections 2).
    address = {"AddressLine1": "Storgatan 1", "ZipCode": "11122", "City": "Oslo",
               "CountryCode": "NO"}  # fmt: skip
    company = norce.add_company(name="Bygg AB", organization_no="556600-0007", code="K-1")
    anna = norce.add_customer(first_name="Anna", email="anna@x.se", code="C-1",
                              company=company, InvoiceAddress=address)  # fmt: skip

    [row] = query.find_parties(CUSTOMERS, "CustomerCode", "C-1")
    assert (row["Id"], "Code" in row, "InvoiceAddress" in row) == (anna, False, False)
    assert "Addresses" not in row  # a navigation property: only when expanded
    [company_row] = query.find_parties(COMPANIES, "CompanyCode", "K-1")
    assert (company_row["Id"], company_row["OrganizationNo"]) == (company, "556600-0007")
    with pytest.raises(NorceRejected, match="'Code' is not a filterable property"):
        query.find_parties(CUSTOMERS, "Code", "C-1")

    [full] = query.find_parties(CUSTOMERS, "Id", anna, expand="Addresses")
    [line] = full["Addresses"]
    countries = query.codes("Core/Countries")
    assert (line["AddressLine1"], countries[line["CountryId"]]) == ("Storgatan 1", "NO")

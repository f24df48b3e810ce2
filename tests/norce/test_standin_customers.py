"""The stand-in's ImportCustomers/ImportCompanies behave as the reference says a tenant does.

Every test drives the stand-in over HTTP and reads the job (`Job/Get`, `Job/GetLog`) and the
state, so the integration's own tests can fail on real mistakes: a wrong match key, a field
not listed, a company or price list that does not exist, an ERP number already taken.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from etl.entities.calls import NorceCall
from etl.errors import NorceRejected
from etl.norce.client import NorceClient
from etl.norce.http_delivery import HttpDelivery
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin, run_norce_standin
from tests.support.norce.samples import ACCOUNT_ID, HTTP, raw_post, raw_token

CUSTOMERS = "Customer/ImportCustomers"
COMPANIES = "Customer/ImportCompanies"
# CustomerFieldsThatAreSet: 2 Code, 3 EmailAddress, 6 FirstName, 8 LastName, 9 PhoneNumber,
# 12 InvoiceAddress, 17 PriceLists, 18 SearchOnlyByCode, 19 Companies.
CUSTOMER_FIELDS = [2, 3, 6, 8, 9, 12]
# CompanyFieldsThatAreSet: 2 Code, 3 OrganizationNo, 4 Name, 6 PhoneNumber, 19 PriceLists,
# 20 SearchOnlyByCode.
COMPANY_FIELDS = [2, 3, 4, 6]
ANNA = {"Code": "C-1", "FirstName": "Anna", "LastName": "Andersson", "EmailAddress": "anna@x.se"}
KUND = {"Code": "K-1", "Name": "Kund AB", "OrganizationNo": "556677-8899"}


class Clock:
    """A settable UTC clock for the stand-in's Created/Updated stamps."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def norce(clock: Clock) -> Iterator[NorceStandin]:
    with run_norce_standin(now=clock) as standin:
        yield standin


def customer_header(fields: list[int]) -> dict[str, Any]:
    return {"AccountId": ACCOUNT_ID, "CustomerFieldsThatAreSet": fields, "SerializationType": 0}


def company_header(fields: list[int]) -> dict[str, Any]:
    return {"AccountId": ACCOUNT_ID, "CompanyFieldsThatAreSet": fields, "SerializationType": 0}


def post(norce: NorceStandin, method: str, head: object, items: object) -> httpx.Response:
    line = json.dumps(head, separators=(",", ":"))
    return raw_post(norce, method, line, json.dumps(items).encode())


def run(
    norce: NorceStandin, method: str, head: object, items: list[Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Import `items`, poll the job to its end; return (JobDto, GetLog entries)."""
    answer = post(norce, method, head, items)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["JobId"]
    auth = {"Authorization": f"Bearer {raw_token(norce)}"}
    url = f"{norce.base_url}/commerce/connect/4.0/Job/Get?id={job_id}"
    for _ in range(5):
        job: dict[str, Any] = HTTP.get(url, headers=auth).json()
        if job["IsFinished"]:
            break
    log = HTTP.get(url.replace("Job/Get", "Job/GetLog"), headers=auth).json()
    return job, log


def customers(norce: NorceStandin, *items: Any, fields: list[int] | None = None) -> Any:
    return run(norce, CUSTOMERS, customer_header(fields or CUSTOMER_FIELDS), list(items))


def companies(norce: NorceStandin, *items: Any, fields: list[int] | None = None) -> Any:
    return run(norce, COMPANIES, company_header(fields or COMPANY_FIELDS), list(items))


def counts(job: dict[str, Any]) -> tuple[int, int, int, int]:
    return job["StatusId"], job["Insert"], job["Updates"], job["Fail"]


def errors(log: list[dict[str, Any]]) -> list[str]:
    return [e["Message"] for e in log if e["SeverityId"] == 3]


def test_an_insert_gets_an_id_and_stamps_and_is_found_by_every_key(norce: NorceStandin) -> None:
    job, log = customers(norce, ANNA)
    assert counts(job) == (2, 1, 0, 0)
    assert [e["Message"] for e in log] == ["Starting import.", "Import finished."]
    state = norce.state
    record = state.customers["C-1"]
    assert isinstance(record["Id"], int)
    assert state.customers[record["Id"]] is record
    assert state.customers.by_third_key("ANNA@x.se") == [record]  # e-mails match in any case
    assert record["Created"] == record["Updated"] == "2026-03-01T08:00:00.000000Z"
    assert {k: record[k] for k in ANNA} == ANNA


@pytest.mark.parametrize(
    ("method", "first", "key"),
    [
        (CUSTOMERS, ANNA, "Code"),
        (CUSTOMERS, ANNA, "Id"),
        (CUSTOMERS, ANNA, "EmailAddress"),
        (COMPANIES, KUND, "Code"),
        (COMPANIES, KUND, "Id"),
        (COMPANIES, KUND, "OrganizationNo"),
    ],
)
def test_an_update_matches_on_code_else_id_else_the_third_key(
    norce: NorceStandin, method: str, first: dict[str, str], key: str
) -> None:
    send = customers if method == CUSTOMERS else companies
    send(norce, first)
    table = norce.state.customers if method == CUSTOMERS else norce.state.companies
    record = table[first["Code"]]
    job, _ = send(norce, {key: record[key], "PhoneNumber": "08-123"})
    assert counts(job) == (2, 0, 1, 0)
    table = norce.state.customers if method == CUSTOMERS else norce.state.companies
    assert len(table) == 1
    assert table[record["Id"]]["PhoneNumber"] == "08-123"


def test_only_listed_fields_change_and_nested_objects_replace_whole(
    norce: NorceStandin, clock: Clock
) -> None:
    address = {"AddressLine1": "Storgatan 1", "ZipCode": "11122", "City": "Stockholm"}
    customers(norce, {**ANNA, "PhoneNumber": "08-1", "InvoiceAddress": address})
    clock.now += dt.timedelta(hours=1)
    # FirstName is sent but 6 is not listed; the new address has no ZipCode.
    change = {"Code": "C-1", "FirstName": "Annika", "PhoneNumber": "08-2",
              "InvoiceAddress": {"AddressLine1": "Nygatan 2", "City": "Uppsala"}}  # fmt: skip
    job, _ = customers(norce, change, fields=[9, 12])
    assert counts(job) == (2, 0, 1, 0)
    record = norce.state.customers["C-1"]
    assert (record["FirstName"], record["PhoneNumber"]) == ("Anna", "08-2")
    assert record["InvoiceAddress"] == {"AddressLine1": "Nygatan 2", "City": "Uppsala"}
    assert record["Created"] == "2026-03-01T08:00:00.000000Z"
    assert record["Updated"] == "2026-03-01T09:00:00.000000Z"


def test_control_switches_unknown_fields_and_server_fields_are_not_stored(
    norce: NorceStandin,
) -> None:
    item = {**ANNA, "Type": 1, "IsCompanyListDelta": True, "Nickname": "A", "Updated": "x"}
    customers(norce, item)
    record = norce.state.customers["C-1"]
    assert record["Type"] == 1
    assert not {"IsCompanyListDelta", "Nickname"} & record.keys()
    assert record["Updated"] != "x"


@pytest.mark.parametrize(
    ("method", "item", "fields", "words"),
    [
        (CUSTOMERS, {**ANNA, "FirstName": ""}, CUSTOMER_FIELDS, "FirstName is missing"),
        (CUSTOMERS, {k: v for k, v in ANNA.items() if k != "LastName"}, CUSTOMER_FIELDS,
         "LastName is missing"),
        (CUSTOMERS, {k: v for k, v in ANNA.items() if k != "Code"}, CUSTOMER_FIELDS,
         "Code is missing"),
        (CUSTOMERS, ANNA, [2, 3, 6], "LastName (8) is not in CustomerFieldsThatAreSet"),
        (COMPANIES, {k: v for k, v in KUND.items() if k != "OrganizationNo"}, COMPANY_FIELDS,
         "OrganizationNo is missing"),
        (COMPANIES, KUND, [2, 3], "Name (4) is not in CompanyFieldsThatAreSet"),
    ],
)  # fmt: skip
def test_an_insert_missing_a_required_field_fails_with_an_error_naming_it(
    norce: NorceStandin, method: str, item: dict[str, str], fields: list[int], words: str
) -> None:
    head = customer_header(fields) if method == CUSTOMERS else company_header(fields)
    job, log = run(norce, method, head, [item])
    assert counts(job) == (2, 0, 0, 1)
    [entry] = [e for e in log if e["SeverityId"] == 3]
    assert entry["Message"].startswith(("Customer [0]", "Company [0]"))
    assert words in entry["Message"] and "not imported" in entry["Message"]
    assert json.loads(entry["ImportedRow"]) == item
    table = norce.state.customers if method == CUSTOMERS else norce.state.companies
    assert len(table) == 0


def test_a_partial_failure_is_succeeded_with_fail_and_our_delivery_rejects_it(
    norce: NorceStandin,
) -> None:
    missing = {k: v for k, v in ANNA.items() if k != "FirstName"}
    second = {**ANNA, "Code": "C-2", "EmailAddress": "b@x.se"}
    job, _ = customers(norce, missing, second)
    assert counts(job) == (2, 1, 0, 1)  # reference section 2: Succeeded, with failed rows
    call = NorceCall(CUSTOMERS, customer_header(CUSTOMER_FIELDS), [{**missing, "Code": "C-3"}],
                     "0001-ImportCustomers-add")  # fmt: skip
    fake = FakeTime()
    settings = norce.settings()
    with NorceClient(settings, sleep=fake.sleep, clock=fake.clock) as client:
        delivery = HttpDelivery(client, settings, sleep=fake.sleep, clock=fake.clock)
        with pytest.raises(NorceRejected) as caught:
            delivery.deliver([call], "batch-1")
    assert "1 of 1 rows not imported" in str(caught.value)
    assert "Customer [0] (Code C-3) not imported" in str(caught.value)
    assert "FirstName is missing" in str(caught.value)


def test_an_unknown_id_fails_the_item(norce: NorceStandin) -> None:
    job, log = customers(norce, {**ANNA, "Id": 99})
    assert counts(job) == (2, 0, 0, 1)
    assert "no customer has Id 99" in errors(log)[0]


# ---------------------------------------------------------------- SearchOnlyByCode


def test_without_search_only_by_code_a_second_code_for_one_email_fails(
    norce: NorceStandin,
) -> None:
    job, log = customers(norce, ANNA, {**ANNA, "Code": "C-2"})
    assert counts(job) == (2, 1, 0, 1)
    assert "EmailAddress anna@x.se matches customer Ids 10001; send the Id" in errors(log)[0]


def test_search_only_by_code_allows_duplicate_emails(norce: NorceStandin) -> None:
    items = [ANNA, {**ANNA, "Code": "C-2"}]
    job, _ = run(norce, CUSTOMERS, customer_header([*CUSTOMER_FIELDS, 18]), items)
    assert counts(job) == (2, 2, 0, 0)
    state = norce.state
    assert [r["Code"] for r in state.customers.by_third_key("anna@x.se")] == ["C-1", "C-2"]
    # Neither can now be found by e-mail alone.
    job, log = customers(norce, {"EmailAddress": "anna@x.se", "PhoneNumber": "1"})
    assert counts(job) == (2, 0, 0, 1)
    assert "matches customer Ids 10001, 10002; send the Code or Id" in errors(log)[0]


def test_search_only_by_code_counts_only_when_its_field_is_listed(norce: NorceStandin) -> None:
    items = [ANNA, {**ANNA, "Code": "C-2"}]
    job, _ = customers(norce, *items)  # 18 not listed: the e-mail still matches C-1
    assert counts(job) == (2, 1, 0, 1)


def test_search_only_by_code_does_not_write_back_onto_a_codeless_record(
    norce: NorceStandin,
) -> None:
    web = norce.add_customer(first_name="Anna", email="anna@x.se")
    item = ANNA
    job, _ = run(norce, CUSTOMERS, customer_header([*CUSTOMER_FIELDS, 18]), [item])
    assert counts(job) == (2, 1, 0, 0)
    state = norce.state
    assert "Code" not in state.customers[web]
    assert state.customers["C-1"]["Id"] != web


def test_companies_search_only_by_code_allows_duplicate_organization_numbers(
    norce: NorceStandin,
) -> None:
    items = [KUND, {**KUND, "Code": "K-2"}]
    job, _ = run(norce, COMPANIES, company_header([*COMPANY_FIELDS, 20]), items)
    assert counts(job) == (2, 2, 0, 0)
    job, log = companies(norce, {**KUND, "Code": "K-3"})
    assert counts(job) == (2, 0, 0, 1)
    assert "OrganizationNo 556677-8899 matches company Ids 20001, 20002" in errors(log)[0]


# ---------------------------------------------------------------- a customer's companies


def test_companies_must_exist_and_are_found_by_code_id_or_organization_number(
    norce: NorceStandin,
) -> None:
    companies(norce, KUND, {"Code": "K-2", "Name": "Två AB", "OrganizationNo": "556000-0002"})
    k2 = norce.state.companies["K-2"]["Id"]
    links = [{"Code": "K-1", "IsPrimary": True}, {"Id": k2}]
    unknown = {**ANNA, "Code": "C-2", "EmailAddress": "b@x.se", "Companies": [{"Code": "K-404"}]}
    by_org = {**ANNA, "Code": "C-3", "EmailAddress": "c@x.se",
              "Companies": [{"OrganizationNo": "556000-0002"}]}  # fmt: skip
    job, log = customers(
        norce, {**ANNA, "Companies": links}, unknown, by_org, fields=[*CUSTOMER_FIELDS, 19]
    )
    assert counts(job) == (2, 2, 0, 1)
    assert "Customer [1] (Code C-2)" in errors(log)[0]
    assert "Companies[0]: no single company with Code K-404" in errors(log)[0]
    state = norce.state
    assert "C-2" not in state.customers
    assert state.customer_companies("C-1") == {"K-1": True, "K-2": False}
    assert state.customers["C-1"]["Companies"] == [
        {"Id": state.companies["K-1"]["Id"], "IsPrimary": True},
        {"Id": k2, "IsPrimary": False},
    ]
    assert [c["Code"] for c in state.company_contacts("K-2")] == ["C-1", "C-3"]
    assert [c["Code"] for c in state.company_contacts(k2)] == ["C-1", "C-3"]


def test_a_company_list_replaces_unless_it_is_a_delta(norce: NorceStandin) -> None:
    companies(norce, KUND, {"Code": "K-2", "Name": "Två AB", "OrganizationNo": "556000-0002"})
    companies(norce, {"Code": "K-3", "Name": "Tre AB", "OrganizationNo": "556000-0003"})
    fields = [*CUSTOMER_FIELDS, 19]
    customers(norce, {**ANNA, "Companies": [{"Code": "K-1", "IsPrimary": True}]}, fields=fields)
    customers(norce, {"Code": "C-1", "Companies": [{"Code": "K-2"}]}, fields=fields)
    assert norce.state.customer_companies("C-1") == {"K-2": False}
    delta = {"Code": "C-1", "IsCompanyListDelta": True, "Companies": [{"Code": "K-3"}]}
    customers(norce, delta, fields=fields)
    assert norce.state.customer_companies("C-1") == {"K-2": False, "K-3": False}
    # A delta naming a company already related updates that relation in place.
    primary = {**delta, "Companies": [{"Code": "K-2", "IsPrimary": True}]}
    customers(norce, primary, fields=fields)
    assert norce.state.customer_companies("C-1") == {"K-2": True, "K-3": False}
    # Companies sent without 19 listed change nothing, and are not even looked up.
    job, _ = customers(norce, {"Code": "C-1", "Companies": [{"Code": "K-404"}]})
    assert counts(job) == (2, 0, 1, 0)
    assert norce.state.customer_companies("C-1") == {"K-2": True, "K-3": False}


# ---------------------------------------------------------------- price lists


def test_a_company_price_list_must_exist(norce: NorceStandin) -> None:
    price_list_header = {"AccountId": ACCOUNT_ID, "PriceListFieldsThatAreSet": [0]}
    run(norce, "Product/ImportPriceLists", price_list_header, [{"Code": "AGR-1", "Name": "A"}])
    price_header = {"AccountId": ACCOUNT_ID, "FullFile": False, "SkuPriceListFieldsThatAreSet": [3]}
    price = {"PartNo": "100123", "PriceListCode": "B2B-NET-SEK", "PriceSale": 69}
    run(norce, "Product/ImportSkuPriceLists", price_header, [price])
    norce.add_price_list("ADMIN-1")
    lists = [{"Code": c, "IsExclusive": False} for c in ("AGR-1", "B2B-NET-SEK", "ADMIN-1")]
    good = {**KUND, "PriceLists": lists}
    bad = {"Code": "K-2", "Name": "Två AB", "OrganizationNo": "556000-0002",
           "PriceLists": [{"Code": "NOPE"}]}  # fmt: skip
    job, log = companies(norce, good, bad, fields=[*COMPANY_FIELDS, 19])
    assert counts(job) == (2, 1, 0, 1)
    assert "PriceLists[0]: price list NOPE does not exist" in errors(log)[0]
    assert norce.state.companies["K-1"]["PriceLists"] == lists
    assert "K-2" not in norce.state.companies


# ---------------------------------------------------------------- ERP number write-back


def test_a_code_is_written_back_onto_a_customer_born_on_a_web_order(
    norce: NorceStandin, clock: Clock
) -> None:
    company = norce.add_company(name="Webb AB", organization_no="556000-0009")
    web = norce.add_customer(first_name="Anna", email="anna@x.se", company=company)
    clock.now += dt.timedelta(minutes=5)
    job, _ = customers(norce, {"Id": web, "Code": "C-9", "PhoneNumber": "08-9"})
    assert counts(job) == (2, 0, 1, 0)
    state = norce.state
    record = state.customers["C-9"]
    assert (record["Id"], record["PhoneNumber"]) == (web, "08-9")
    assert record["Updated"] == "2026-03-01T08:05:00.000000Z"
    assert state.customer_companies("C-9") == {company: True}  # the company has no Code yet
    assert len(state.customers) == 1


def test_a_code_is_written_back_onto_a_company_born_on_a_web_order(norce: NorceStandin) -> None:
    company = norce.add_company(name="Webb AB", organization_no="556000-0009")
    norce.add_customer(first_name="Eva", email="eva@x.se", company=company)
    job, _ = companies(norce, {"Id": company, "Code": "K-9"})
    assert counts(job) == (2, 0, 1, 0)
    state = norce.state
    assert state.companies["K-9"]["Id"] == company
    assert [c["EmailAddress"] for c in state.company_contacts("K-9")] == ["eva@x.se"]
    assert state.customer_companies(state.company_contacts("K-9")[0]["Id"]) == {"K-9": True}


def test_a_code_is_written_back_only_when_code_is_listed(norce: NorceStandin) -> None:
    web = norce.add_customer(first_name="Anna", email="anna@x.se")
    job, _ = customers(norce, {"Id": web, "Code": "C-9"}, fields=[3, 9])
    assert counts(job) == (2, 0, 1, 0)
    assert "Code" not in norce.state.customers[web]


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"Code": "C-1", "EmailAddress": "web@x.se"},
         "Code C-1 already belongs to customer Id 10001 (Code C-1); EmailAddress web@x.se "
         "already belongs to customer Id 10002"),
        ({"Code": "C-1", "Id": 10002}, "Code C-1 already belongs to customer Id 10001 (Code C-1)"),
        ({"Code": "C-2", "Id": 10001}, "Id 10001 is customer Id 10001 (Code C-1), not Code C-2"),
    ],
)  # fmt: skip
def test_a_code_held_by_another_record_fails_and_changes_nothing(
    norce: NorceStandin, item: dict[str, Any], words: str
) -> None:
    customers(norce, ANNA)
    norce.add_customer(first_name="Web", email="web@x.se")
    before = norce.state
    job, log = customers(norce, {**item, "PhoneNumber": "08-9"})
    assert counts(job) == (2, 0, 0, 1)
    assert words in errors(log)[0]
    assert dict(norce.state.customers) == dict(before.customers)


def test_a_company_code_held_by_another_company_fails(norce: NorceStandin) -> None:
    companies(norce, KUND)
    norce.add_company(name="Webb AB", organization_no="556000-0009")
    job, log = companies(norce, {"Code": "K-1", "OrganizationNo": "556000-0009"})
    assert counts(job) == (2, 0, 0, 1)
    assert "Code K-1 already belongs to company Id 20001 (Code K-1)" in errors(log)[0]
    assert norce.state.companies["K-1"]["OrganizationNo"] == "556677-8899"


# ---------------------------------------------------------------- changes made in Norce


def test_changes_in_norce_bump_updated_and_keep_the_keys(norce: NorceStandin, clock: Clock) -> None:
    customers(norce, ANNA)
    clock.now += dt.timedelta(days=1)
    changed = norce.change_customer("C-1", EmailAddress="anna@ny.se", PhoneNumber="070")
    assert changed["Updated"] == "2026-03-02T08:00:00.000000Z"
    state = norce.state
    assert state.customers.by_third_key("anna@x.se") == []
    assert state.customers.by_third_key("anna@ny.se") == [state.customers["C-1"]]
    # The clock standing still still gives a later stamp, so every change is seen.
    again = norce.change_customer(changed["Id"], PhoneNumber="071")
    assert again["Updated"] == "2026-03-02T08:00:00.000001Z"
    company = norce.add_company(name="Webb AB", organization_no="556000-0009")
    assert norce.change_company(company, Code="K-7")["Code"] == "K-7"
    with pytest.raises(ValueError, match="set by Norce only"):
        norce.change_customer("C-1", Id=5)
    with pytest.raises(KeyError):
        norce.change_customer("C-404", PhoneNumber="1")


def test_an_import_update_bumps_updated_even_without_a_clock_tick(norce: NorceStandin) -> None:
    customers(norce, ANNA)
    first = norce.state.customers["C-1"]["Updated"]
    customers(norce, {"Code": "C-1", "PhoneNumber": "1"})
    assert norce.state.customers["C-1"]["Updated"] > first


# ---------------------------------------------------------------- the contract's types


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({**ANNA, "Id": "7"}, "[0].Id must be a JSON integer"),
        ({**ANNA, "Code": 7}, "[0].Code must be a JSON string"),
        ({**ANNA, "Companies": {"Code": "K-1"}}, "[0].Companies must be an array of objects"),
        ({**ANNA, "Companies": [{"Id": "1"}]}, "[0].Companies[0].Id must be a JSON integer"),
        ({**ANNA, "PriceLists": [{"Code": 1}]}, "[0].PriceLists[0].Code must be a JSON string"),
    ],
)
def test_wrong_types_are_refused(norce: NorceStandin, item: dict[str, Any], words: str) -> None:
    answer = post(norce, CUSTOMERS, customer_header(CUSTOMER_FIELDS), [item])
    assert answer.status_code == 400
    assert words in answer.json()["Message"]
    assert norce.calls == []


def test_an_empty_key_fails_the_item(norce: NorceStandin) -> None:
    job, log = customers(norce, {**ANNA, "Code": "", "PhoneNumber": "1"})
    assert counts(job) == (2, 0, 0, 1)
    assert "Code is empty" in errors(log)[0]


def test_a_new_code_with_only_the_email_matches_nothing_and_takes_the_insert_path(
    norce: NorceStandin,
) -> None:
    # [C] Norce matches Id, then Code, then e-mail only when Id and Code are both omitted
    # (docs, connect customerservice schemas/customer; reference corrections 3).
    web = norce.add_customer(first_name="Anna", email="anna@x.se")
    job, log = customers(norce, {"EmailAddress": "anna@x.se", "Code": "C-9"}, fields=[2])
    assert counts(job) == (2, 0, 0, 1)
    assert "EmailAddress anna@x.se matches customer Ids 10001; send the Id" in errors(log)[0]
    assert "Code" not in norce.state.customers[web]

    job, _ = customers(norce, {"Id": web, "Code": "C-9"}, fields=[2])
    assert counts(job) == (2, 0, 1, 0)
    assert norce.state.customers["C-9"]["Id"] == web

"""The ERP's numbers for buyers born on a web order, written back onto Norce's records.

Real parts: the shipped contract and sample, the stand-in's ImportCompanies/ImportCustomers
(which match as the reference describes) and its Query sets read live from the same state,
the order book and spool as the receiver fills them, SQLite, XLSX reports reopened.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, NorceSettings, OrderSettings, Settings
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.to_norce.documents.book import DocumentRow
from etl.to_norce.records import FileOutcome
from tests.support.documents import book, make_home, report_rows, run, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin
from tests.support.paths import SAMPLES

HEADER = "Webbordernr;Ordernr;Kundnr;Orgnr;Kontaktnr;E-post"
ANNA = "anna.andersson@bygg.example"
IMPORTS = ("Customer/ImportCompanies", "Customer/ImportCustomers")


def drop_numbers(drop: Path, name: str, *rows: str) -> None:
    folder = drop / "buyer_numbers"
    folder.mkdir(exist_ok=True)
    text = "\r\n".join((HEADER, *rows)) + "\r\n"
    (folder / name).write_bytes(text.encode("cp1252"))
    (folder / f"{name}.done").touch()


def web_buyer(norce: NorceStandin, org_no: str = "556677-8899") -> tuple[int, int]:
    """A company and its contact as Norce makes them on a first web order: no Codes."""
    company = norce.add_company(name="Bygg AB", organization_no=org_no)
    person = norce.add_customer(first_name="Anna", last_name="Andersson", email=ANNA,
                                company=company)  # fmt: skip
    return company, person


@dataclass(frozen=True)
class Buyers:
    """A home with the shipped buyer_numbers contract, the drop folder as its ERP store."""

    home: Path
    settings: Settings

    def run(self) -> list[FileOutcome]:
        """One pass of the feed, as `run.py once --feed buyer_numbers`."""
        return run(self.settings, "buyer_numbers")


@pytest.fixture
def buyers(
    tmp_path: Path, local: LocalStoreSettings, http: NorceSettings, query: QueryStandin
) -> Buyers:
    """Norce over HTTP with Query on the stand-in (`query` plugs it in)."""
    home = make_home(tmp_path, "buyer_numbers")
    return Buyers(home, settings_for(home, local, http))


def received(home: Path, ref: str, email: str) -> None:
    """An order by the buyer taken in as the receiver does: spooled and in the order book."""
    state = home / "state"
    inbound = OrderInbound(
        OrderBook(state / "ledger.sqlite"),
        Spool(state / "spool" / "orders"),
        home / "rejected",
        OrderSettings(),
        lambda: dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )
    body = {
        "ClientOrderRef": ref,
        "SellTo": {"Company": {"Name": "Bygg AB"},
                   "Person": {"FirstName": "Anna", "Email": email}},
        "Items": [{"LineNo": 1, "PartNo": "100123", "Quantity": 1, "UnitPrice": "10"}],
    }  # fmt: skip
    try:
        answer = inbound.accept(json.dumps(body).encode(), "application/json", "push")
    finally:
        inbound.book.close()
    assert answer.status == 200


def imports(norce: NorceStandin) -> list[str]:
    return [c.method for c in norce.calls if c.method in IMPORTS]


def test_the_sample_numbers_reach_the_web_born_records_once(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, person = web_buyer(norce)
    shutil.copytree(SAMPLES / "buyer_numbers", drop / "buyer_numbers")
    [outcome] = buyers.run()

    assert outcome.outcome == "committed"
    state = norce.state
    assert state.companies[company]["Code"] == "50123"
    assert state.customers[person]["Code"] == "50123-1"
    assert state.customers[person]["FirstName"] == "Anna"  # nothing else touched
    assert imports(norce) == list(IMPORTS)  # company first
    [companies, customers] = [c for c in norce.calls if c.method in IMPORTS]
    # The record's Norce Id with the new Code: Norce matches Id first, and a new Code alone
    # (with the e-mail or org no) would match nothing and take the insert path.
    assert companies.items == [{"Id": company, "Code": "50123"}]
    assert companies.header["CompanyFieldsThatAreSet"] == [1, 2]  # Id and Code, as sent
    assert customers.items == [{"Id": person, "Code": "50123-1"}]
    rows = {r["Line"]: r for r in report_rows(outcome, buyers.home)}
    assert rows[3]["Error code"] == "buyer_not_received"  # no e-mail, order never received
    assert "order 1234570 was not received" in rows[3]["What is wrong"]
    assert (rows[4]["Field"], rows[4]["Error code"]) == ("organization_no", "required")

    # The same numbers again, under another name: the book says they went; nothing is sent.
    drop_numbers(
        drop, "kundnummer_again.csv", f"1234567;SO-100045;50123;556677-8899;50123-1;{ANNA}"
    )
    # The refusal of order 1234570 is closed (nothing will ever give it an e-mail): not
    # taken up again.
    [again] = buyers.run()
    assert again.outcome == "committed"
    assert again.counts["already_sent"] == 1
    assert imports(norce) == list(IMPORTS)


def test_an_org_no_written_otherwise_finds_the_company_as_norce_spells_it(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, _ = web_buyer(norce, org_no="556677-8899")
    drop_numbers(drop, "kundnummer_1.csv", "1234567;;50123;5566778899;;")
    [outcome] = buyers.run()

    assert outcome.counts["sent"] == 1
    assert norce.state.companies[company]["Code"] == "50123"
    [call] = [c for c in norce.calls if c.method == "Customer/ImportCompanies"]
    assert call.items == [{"Id": company, "Code": "50123"}]


def test_a_number_another_record_holds_is_refused_and_reported_and_nothing_is_sent(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, person = web_buyer(norce)
    other = norce.add_company(name="Annat AB", organization_no="556036-0793", code="50123")
    drop_numbers(drop, "kundnummer_1.csv", f"1234567;SO-1;50123;556677-8899;50123-1;{ANNA}")
    [outcome] = buyers.run()

    assert outcome.outcome == "committed"
    assert outcome.counts["refused_by_check"] == 1  # ours, not Norce's: retried next run
    assert imports(norce) == []  # not even the person: the document goes whole or not at all
    state = norce.state
    assert "Code" not in state.companies[company] and "Code" not in state.customers[person]
    assert state.companies[other]["OrganizationNo"] == "556036-0793"  # not merged
    [row] = report_rows(outcome, buyers.home)
    assert row["Error code"] == "code_taken"
    assert (
        f"company number 50123 already belongs to Norce company Id {other}" in row["What is wrong"]
    )
    assert ANNA not in json.dumps(row)


def test_a_record_that_already_has_another_number_is_not_renumbered(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    _, person = web_buyer(norce)
    norce.change_customer(person, Code="40001")
    drop_numbers(drop, "kundnummer_1.csv", f"1234567;;;;50123-1;{ANNA}")
    [outcome] = buyers.run()

    [row] = report_rows(outcome, buyers.home)
    assert row["Error code"] == "buyer_unmatched"
    assert (
        f"Norce customer Id {person} already has number 40001, not 50123-1" in row["What is wrong"]
    )
    assert norce.state.customers[person]["Code"] == "40001"


def test_an_unknown_or_shared_email_is_not_guessed(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    norce.add_customer(first_name="Eva", email="eva@bygg.example")
    norce.add_customer(first_name="Eva", email="EVA@bygg.example")
    drop_numbers(
        drop,
        "kundnummer_1.csv",
        "1234567;;;;50123-1;nobody@bygg.example",
        "1234568;;;;50124-1;eva@bygg.example",
    )
    [outcome] = buyers.run()

    messages = [r["What is wrong"] for r in report_rows(outcome, buyers.home)]
    assert "): no Norce customer has the e-mail address of this buyer" in messages[0]
    assert "): the e-mail address of this buyer is on Norce customer Ids" in messages[1]
    assert imports(norce) == []


def test_the_email_comes_from_the_order_as_received_when_the_erp_leaves_it_out(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    _, person = web_buyer(norce)
    received(buyers.home, "1234567", ANNA)
    drop_numbers(drop, "kundnummer_1.csv", "1234567;;;;50123-1;")

    [outcome] = buyers.run()

    assert outcome.counts["sent"] == 1
    assert norce.state.customers[person]["Code"] == "50123-1"


def test_an_item_norce_does_not_import_refuses_the_document_with_norces_words(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    web_buyer(norce)
    norce.finish_next_jobs(1, messages=["Customer code is too long for this tenant"])
    drop_numbers(drop, "kundnummer_1.csv", f"1234567;;;;50123-1;{ANNA}")
    [outcome] = buyers.run()

    [row] = report_rows(outcome, buyers.home)
    assert row["Error code"] == "norce_rejected"
    assert "Customer code is too long for this tenant" in row["What is wrong"]


def test_norce_unavailable_leaves_the_file_and_the_next_run_writes_the_numbers(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, person = web_buyer(norce)
    drop_numbers(drop, "kundnummer_1.csv", f"1234567;;50123;556677-8899;50123-1;{ANNA}")
    norce.fail_next(3, status=503, path="Customer/ImportCustomers")  # one run's attempts

    [failed] = buyers.run()

    assert failed.outcome == "failed"
    assert (drop / "buyer_numbers" / "kundnummer_1.csv").exists()
    # The document in doubt is taken up first (Query: the company has its number, the person
    # not yet), then the file commits with it already sent.
    resumed, outcome = buyers.run()
    assert (resumed.outcome, resumed.counts["sent"]) == ("committed", 1)
    assert (outcome.outcome, outcome.counts["already_sent"]) == ("committed", 1)
    state = norce.state
    assert (state.companies[company]["Code"], state.customers[person]["Code"]) == (
        "50123",
        "50123-1",
    )
    assert imports(norce).count("Customer/ImportCompanies") == 1  # already there: not again


ACK_NUMBERS = """\
[feed]
name = "ack_numbers"
entity = "buyer_number"

[source]
from_feed = "order_status"

[format]
type = "csv"
encoding = "cp1252"
delimiter = ";"
datetime_format = "%Y-%m-%d %H:%M"
time_zone = "Europe/Stockholm"

[columns]
"Webbordernr" = "client_order_ref"
"Ordernr" = "erp_order_no"
"Kundnr" = "company_code"
"Orgnr" = "organization_no"
"Kontaktnr" = "customer_code"
"""


def test_numbers_in_the_acknowledgement_file_go_with_the_status(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    norce: NorceStandin,
    query: QueryStandin,
) -> None:
    from tests.support.norce.orders import OrderStandin

    orders = OrderStandin(norce, query=query)
    orders.add_order(1234567)
    company, person = web_buyer(norce)
    home = make_home(tmp_path, "order_status", extra={"ack_numbers": ACK_NUMBERS})
    folder = drop / "order_status"
    folder.mkdir()
    lines = [
        "Ordernr;Webbordernr;Status;Statustid;Kundnr;Orgnr;Kontaktnr",
        "SO-100045;1234567;10;2026-11-22 08:00;50123;556677-8899;50123-1",
    ]
    (folder / "orderstatus_1.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    received(home, "1234567", ANNA)  # so the write-back finds the buyer's e-mail

    outcomes = run(settings_for(home, local, http), "order_status")

    assert [(o.feed, o.outcome) for o in outcomes] == [
        ("ack_numbers", "committed"),
        ("order_status", "committed"),
    ]
    assert orders.order(1234567).status == "Confirmed"
    assert norce.state.companies[company]["Code"] == "50123"
    assert norce.state.customers[person]["Code"] == "50123-1"
    assert not (folder / "orderstatus_1.csv").exists()  # moved once both are done


def test_in_file_mode_no_number_is_written_without_the_records_id(
    tmp_path: Path, local: LocalStoreSettings, drop: Path
) -> None:
    # Without Query there is no Id; a Code sent with only the org no or e-mail would make
    # Norce insert a second record. Nothing goes to the outbox: the numbers wait.
    home = make_home(tmp_path, "buyer_numbers")
    shutil.copytree(SAMPLES / "buyer_numbers", drop / "buyer_numbers")
    [outcome] = run(settings_for(home, local, NorceSettings()), "buyer_numbers")

    assert outcome.counts.get("waiting", 0) >= 1 and not outcome.counts.get("sent")
    assert not list((home / "outbox" / "norce").rglob("*Import*.json"))


# -- a refusal by our own pre-check is retried once its cause is gone (issue 20.5) ------

ROW = f"1234567;SO-1;50123;556677-8899;50123-1;{ANNA}"


def refused_for_a_taken_number(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> tuple[int, int, int, list[FileOutcome]]:
    """Anna's company number 50123 is another record's: our check refuses her write-back.

    Returns the Norce Ids of her company, of her and of the other record, and the first
    run's outcomes.
    """
    company, person = web_buyer(norce)
    other = norce.add_company(name="Annat AB", organization_no="556036-0793", code="50123")
    drop_numbers(drop, "kundnummer_1.csv", ROW)
    return company, person, other, buyers.run()


def test_a_number_held_by_another_record_is_written_once_the_other_lets_it_go(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, person, other, _ = refused_for_a_taken_number(buyers, drop, norce)
    assert imports(norce) == []

    norce.change_company(other, Code="70001")  # the cause removed in Norce
    [resumed] = buyers.run()  # no new file: the book's open document is taken up

    assert (resumed.outcome, resumed.counts["sent"]) == ("committed", 1)
    state = norce.state
    assert state.companies[company]["Code"] == "50123"
    assert state.customers[person]["Code"] == "50123-1"
    assert imports(norce) == ["Customer/ImportCompanies", "Customer/ImportCustomers"]
    assert buyers.run() == []  # nothing open any more: written once
    assert len(imports(norce)) == 2


def test_a_refusal_that_still_stands_is_not_reported_again_on_every_run(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    refused_for_a_taken_number(buyers, drop, norce)

    [quiet] = buyers.run()  # Query asked again; same answer, no new run or report

    assert quiet.outcome == "waiting"
    assert quiet.counts == {"sent": 0, "waiting": 1}
    assert imports(norce) == []


def test_the_same_document_in_a_later_file_is_reported_as_our_checks_refusal(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    _, _, other, _ = refused_for_a_taken_number(buyers, drop, norce)

    # Other bytes (a file with identical bytes is not taken twice), the same document.
    drop_numbers(drop, "kundnummer_2.csv", ROW, "1234599;;;;;")
    outcomes = buyers.run()

    outcome = outcomes[-1]
    rows = report_rows(outcome, buyers.home)
    [row] = [r for r in rows if r["Key (client_order_ref)"] == "1234567"]
    assert "Norce refused" not in row["What is wrong"]
    assert row["Error code"] == "code_taken"
    assert f"already belongs to Norce company Id {other}" in row["What is wrong"]
    assert outcome.counts["refused_by_check"] == 1


def the_row(buyers: Buyers, ref: str = "1234567") -> DocumentRow:
    """The buyer-number document of order `ref`, as the book holds it."""
    opened = book(buyers.home)
    try:
        [row] = [r for r in opened.needing_attention() if r.doc_no.startswith(ref)]
    finally:
        opened.close()
    return row


def test_a_refusal_that_can_never_go_away_is_closed_not_checked_for_ever(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    web_buyer(norce)
    # Order 1234570 never came through this integration, and the row has no e-mail: nothing
    # Norce or a person does there will ever let this document find its customer.
    drop_numbers(drop, "kundnummer_1.csv", "1234570;;;;50123-1;")
    [outcome] = buyers.run()

    [row] = report_rows(outcome, buyers.home)
    assert row["Error code"] == "buyer_not_received"
    assert "send the number again with the buyer's e-mail address" in row["What is wrong"]
    assert buyers.run() == []  # closed: not taken up, Query not asked again
    kept = the_row(buyers, "1234570")
    assert (kept.state, kept.attempts) == ("rejected", 0)


def test_checking_again_is_no_attempt_and_leaves_the_row_as_the_refusal_wrote_it(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    _, _, _, [first] = refused_for_a_taken_number(buyers, drop, norce)
    refused = the_row(buyers)

    buyers.run()
    buyers.run()

    again = the_row(buyers)
    assert again.attempts == 0  # Norce was never called
    assert (again.run_id, again.updated_at) == (first.run_id, refused.updated_at)
    assert again.state == "refused_by_check"


def test_a_query_outage_while_checking_again_leaves_the_refusal_as_it_was(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    refused_for_a_taken_number(buyers, drop, norce)
    # Query down for one call's attempts: the first question of the check goes unanswered.
    norce.fail_next(buyers.settings.norce.max_attempts, status=503, path="Customers/Companies")

    [down] = buyers.run()

    assert down.outcome == "failed"
    assert the_row(buyers).state == "refused_by_check"  # not in doubt: nothing was sent
    [quiet] = buyers.run()  # Query back, the same refusal: no second report
    assert (quiet.outcome, quiet.counts) == ("waiting", {"sent": 0, "waiting": 1})
    assert imports(norce) == []


def test_a_refusal_whose_reason_changed_is_reported_again(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    company, _, other, _ = refused_for_a_taken_number(buyers, drop, norce)
    norce.change_company(other, Code="70001")  # the number is free now, but the buyer's own
    norce.change_company(company, Code="40001")  # company was given another meanwhile

    [reported] = buyers.run()

    assert (reported.outcome, reported.counts["refused_by_check"]) == ("committed", 1)
    [row] = report_rows(reported, buyers.home)
    assert row["Error code"] == "buyer_unmatched"
    assert f"Norce company Id {company} already has number 40001" in row["What is wrong"]


def test_retention_reduces_and_closes_a_refusal_open_past_the_period(
    buyers: Buyers, drop: Path, norce: NorceStandin
) -> None:
    refused_for_a_taken_number(buyers, drop, norce)
    opened = book(buyers.home)
    try:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert opened.reduce_bodies("buyer_numbers", later, later.isoformat()) == 1
        [row] = opened.needing_attention()
    finally:
        opened.close()

    assert ANNA not in row.document  # the buyer's e-mail is gone with the body
    assert row.state == "rejected"
    assert "retention" in (row.message or "")
    assert buyers.run() == []  # closed: nothing left to check

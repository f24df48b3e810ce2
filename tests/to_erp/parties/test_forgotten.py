"""Norce's anonymization (forgetting a customer) is not a change for the ERP (issue 20.4).

Real parts: events through the real receiver, the stand-in's Query with a customer
anonymized the way we infer Norce does it [I] (see QueryStandin.anonymize_customer), the
file on the real SFTP server; polled orders through the real inbound, spool and book.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from etl.commands.parties import render_events
from etl.config.settings import LocalStoreSettings, OrderSettings
from etl.errors import ConfigError
from etl.jobs import party_jobs, run_jobs
from etl.norce.query import QueryClient
from etl.runtime import Runtime
from etl.state.ledger.watermarks import Watermarks
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.render import prepare, render
from etl.to_erp.orders.bodies import parse_order
from etl.to_erp.orders.from_query import FORGOTTEN_NAME
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.orders.poll import poll_orders
from tests.fixtures.orders import shipped
from tests.support.masterdata import settings_for
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin, query_order
from tests.support.parties import C_HEADER, PartyWorld, customer
from tests.support.peppol_validation import NS, fatal

LAYOUT = "erp_customers_csv"


def everything_sent(world: PartyWorld) -> str:
    """Every byte the ERP's server holds, as text."""
    return "\n".join(d.decode("cp1252") for d in world.remote().values())


def scrambled_values(values: dict[str, object]) -> list[str]:
    """The personal values the anonymization left on the record (not the Code, not the Id)."""
    return [v for k, v in values.items() if isinstance(v, str) and k not in ("Code",)]


def set_action(world: PartyWorld, action: str) -> None:
    path = world.settings.schemas_dir / "parties" / f"{LAYOUT}.toml"
    text = path.read_text()
    path.write_text(text.replace('action = "marker"', f'action = "{action}"'))


def test_an_anonymized_customer_reaches_the_erp_as_a_marker_never_as_scrambled_values(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    world.run()  # the real customer, exported as usual
    scrambled = world.query.anonymize_customer(norce_id)
    world.changed(norce_id)  # Norce raises a change event for the anonymized record

    summary = world.run()

    sent = everything_sent(world)
    assert [v for v in scrambled_values(scrambled) if v in sent] == []
    (name,) = summary.files
    lines = [line for line in world.files()[name] if line[0] == "C"]
    [row] = [dict(zip(C_HEADER, line, strict=True)) for line in lines]
    assert row.pop("ChangedInNorce")  # when Norce forgot them: not personal, kept
    assert row | {"ChangedInNorce": ""} == {
        **dict.fromkeys(C_HEADER, ""), "C": "C", "Code": "C-000123", "NorceId": str(norce_id),
        "Forgotten": "1"
    }  # fmt: skip
    [before] = [f for f in world.files() if f != name]
    [first] = [line for line in world.files()[before] if line[0] == "C"]
    assert dict(zip(C_HEADER, first, strict=True))["Forgotten"] == "0"  # a real customer: 0
    assert summary.forgotten == {str(norce_id): "marker"}
    with world.book() as book:
        newest = book.events()[0]
        assert newest.outcomes == ((LAYOUT, "forgotten", name),)


def test_with_skip_nothing_is_written_and_the_event_is_recorded(world: PartyWorld) -> None:
    set_action(world, "skip")
    norce_id = customer(world)
    world.query.anonymize_customer(norce_id)
    world.changed(norce_id)

    summary = world.run()

    assert (summary.files, world.remote()) == ([], {})
    assert summary.forgotten == {str(norce_id): "skipped"}
    with world.book() as book:
        ((layout, outcome, reason),) = book.events()[0].outcomes
    assert (layout, outcome) == (LAYOUT, "forgotten")
    assert "nothing written" in (reason or "")
    assert world.run().files == []  # settled: not fetched again


def test_norces_forgotten_flag_alone_is_enough(world: PartyWorld) -> None:
    norce_id = customer(world)
    world.query.anonymize_customer(norce_id, flag=True, scramble=False)
    world.changed(norce_id)

    summary = world.run()

    assert "Anna" not in everything_sent(world) and "anna@example.com" not in everything_sent(world)
    assert summary.forgotten == {str(norce_id): "marker"}


def test_a_real_customer_is_not_taken_for_a_forgotten_one(world: PartyWorld) -> None:
    norce_id = customer(world, first_name="Xu", last_name="Li", email="xu.li@example.com")
    world.changed(norce_id)
    summary = world.run()
    assert summary.forgotten == {}
    assert "xu.li@example.com" in everything_sent(world)


def test_a_marker_layout_without_a_forgotten_column_is_refused_at_load(world: PartyWorld) -> None:
    path = world.settings.schemas_dir / "parties" / f"{LAYOUT}.toml"
    kept = [line for line in path.read_text().splitlines() if '"IsForgotten"' not in line]
    path.write_text("\n".join(kept) + "\n")
    with pytest.raises(ConfigError, match="IsForgotten"):
        load_layouts(world.settings, "parties")


def polled_forgotten(tmp_path: Path, norce: NorceStandin, order: dict[str, object]) -> Polled:
    """The order polled from the stand-in's Query after Norce forgot its buyer, as spooled."""
    base = settings_for(tmp_path / "home", LocalStoreSettings(root=tmp_path / "erp"),
                        norce.settings(application_id=1042))  # fmt: skip
    settings = base.model_copy(update={"orders": OrderSettings(source="poll")})
    store = QueryStandin(norce, application_id=1042)
    store.add_order(order)
    scrambled = store.anonymize_order(int(str(order["Id"])))
    inbound = open_inbound(settings)
    marks = Watermarks(settings.folder("state") / "ledger.sqlite")
    now = dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    try:
        with QueryClient(settings.norce, settings.orders.query_path, sleep=lambda s: None) as q:
            summary = poll_orders(settings, inbound, q, marks, lambda: now)
        row = inbound.book.order(str(order["QuotationId"]))
    finally:
        inbound.book.close()
        marks.close()
    assert (summary.spooled, summary.forgotten) == (1, 1)
    assert row is not None and row.state == "spooled"  # exported like any order, without them
    (spooled,) = (settings.folder("state") / "spool" / "orders").glob("*.json")
    return Polled(spooled.read_text(encoding="utf-8"), scrambled)


@dataclass(frozen=True)
class Polled:
    body: str
    scrambled: list[str]

    def peppol(self) -> bytes:
        """The order in the shipped peppol_order layout, as the export renders it."""
        layout = shipped("peppol_order")
        order = parse_order(self.body.encode(), "json")
        return render(layout, [prepare(layout, order, received=dt.datetime(2026, 1, 2, 12))])


def registration_name(document: bytes) -> list[str]:
    path = "/u:Order/cac:BuyerCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    return [str(v) for v in etree.fromstring(document).xpath(f"{path}/text()", namespaces=NS)]


def test_a_polled_order_of_a_forgotten_consumer_carries_no_personal_value(
    tmp_path: Path, norce: NorceStandin
) -> None:
    polled = polled_forgotten(tmp_path, norce, query_order(1001, updated="2026-01-02T01:00:00Z"))

    assert polled.scrambled and [v for v in polled.scrambled if v in polled.body] == []
    read = json.loads(polled.body)
    assert read["IsForgotten"] is True
    assert "CustomerOrderRef" not in read  # a consumer's free text: may name them
    assert read["SellTo"]["Person"]["CustomerCode"] == "C-000123"
    assert [i["PartNo"] for i in read["Items"]] == ["100123", "FREIGHT"]
    document = polled.peppol()  # valid Peppol, with a neutral name where the person's was
    assert [str(a) for a in fatal(document)] == []
    assert registration_name(document) == [FORGOTTEN_NAME]


def test_a_polled_order_of_a_forgotten_company_contact_keeps_the_company_and_its_po(
    tmp_path: Path, norce: NorceStandin
) -> None:
    buyer = {"Name": "Andersson Bygg AB", "Attention": "Anna Andersson",
             "EmailAddress": "anna@example.com", "Line1": "Storgatan 1", "ZipCode": "11122",
             "City": "Stockholm", "CountryId": 1, "Gln": "7350000000009"}  # fmt: skip
    order = query_order(1002, updated="2026-01-02T01:00:00Z", Buyer=buyer,
                        BuyerCompanyCode="50123", InvoiceMark="INV-9")  # fmt: skip
    polled = polled_forgotten(tmp_path, norce, order)

    assert "Anna Andersson" not in polled.body and "anna@example.com" not in polled.body
    read = json.loads(polled.body)
    assert read["SellTo"]["Company"] == {"Code": "50123", "Name": "Andersson Bygg AB"}
    # A company's purchase-order references are the company's, not a person's: kept.
    assert (read["CustomerOrderRef"], read["CustomerInvoiceRef"]) == ("PO-77", "INV-9")
    document = polled.peppol()
    assert [str(a) for a in fatal(document)] == []
    assert registration_name(document) == ["Andersson Bygg AB"]


def test_export_parties_names_the_forgotten_and_parties_lists_them(world: PartyWorld) -> None:
    norce_id = customer(world)
    world.query.anonymize_customer(norce_id)
    world.changed(norce_id)
    rt = Runtime.open(world.settings, sleep=lambda s: None)
    try:
        lines = list(run_jobs(rt, party_jobs(rt)).lines)
    finally:
        rt.close()

    said = f"forgotten in Norce, no personal value sent: {norce_id} (marker)"
    assert [line for line in lines if said in line] == [
        f"customers -> {LAYOUT}: 1 file(s), 1 customers; {said}"
    ]
    with world.book() as book:
        listed = render_events(book.events(), {"customer": [LAYOUT]})
    (name,) = world.files()
    assert f"{LAYOUT}: forgotten ({name})" in listed


def test_a_customer_taken_for_forgotten_by_mistake_is_exported_after_retry_forgotten(
    world: PartyWorld,
) -> None:
    path = world.settings.schemas_dir / "parties" / f"{LAYOUT}.toml"
    shipped_text = path.read_text()
    path.write_text(shipped_text.replace("# email_domains = []", 'email_domains = ["example.com"]'))
    norce_id = customer(world)  # anna@example.com: on the domain, so taken for forgotten
    world.changed(norce_id)
    assert world.run().forgotten == {str(norce_id): "marker"}
    assert "anna@example.com" not in everything_sent(world)

    path.write_text(shipped_text)  # the operator corrects [forgotten]
    assert world.run().files == []  # booked forgotten: settled, not fetched again
    with world.book() as book:
        assert book.release_forgotten() == 1  # what `export-parties --retry-forgotten` does
    summary = world.run()

    assert summary.forgotten == {}
    assert "anna@example.com" in everything_sent(world)

"""A new B2B buyer's first order, both ways, with the real parts (issue 6, Proof).

Norce (the stand-in) holds the company and the person its checkout created, without ERP
numbers, and pushes their first order to the receiver under uvicorn. `run.py once` puts the
order on the ERP's SFTP server with the buyer's details. The ERP answers with an
acknowledgement and a file of its new numbers; the next `once` confirms the order and gives
the stand-in's records their Codes, once. Then the buyer changes their phone number in Norce:
Norce's event reaches the receiver, and the next `once` puts the person, under the ERP's
number, on the ERP's server as a file.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest

from etl.config.settings import load_settings
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.readback import read_back
from tests.support.documents import APPLICATION_ID
from tests.support.lifecycle import ORDER, RECEIVER_PASSWORD, RECEIVER_USER, REF, Installation
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin
from tests.support.order_pusher import push_order
from tests.support.paths import SCHEMAS
from tests.support.receiver import running
from tests.support.sftp_server import SftpServerInfo

ANNA = "anna@example.com"
ORG_NO = "556677-8899"


def first_order() -> dict[str, object]:
    """The lifecycle order, by a buyer the ERP does not know: no company or person code."""
    order = copy.deepcopy(ORDER)
    order["SellTo"] = {
        "Company": {"Name": "Bygg & Trä AB", "VatNo": "SE556677889901"},
        "Person": {"FirstName": "Anna", "LastName": "Åström", "Email": ANNA,
                   "CellPhone": "+46701234567"},
    }  # fmt: skip
    return order


EVENT_TOKEN = "e2e-event-token"


@pytest.fixture
def world(
    tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin, monkeypatch: pytest.MonkeyPatch
) -> Installation:
    setup = Installation(tmp_path, sftp, norce)
    shutil.copy(SCHEMAS / "buyer_numbers.toml", setup.home / "schemas")
    shutil.copytree(SCHEMAS / "parties", setup.home / "schemas" / "parties")
    with setup.config.open("a", encoding="utf-8") as config:
        config.write('[receiver.events]\ntoken_env = "E2E_EVENT_TOKEN"\n')
    setup.env["E2E_EVENT_TOKEN"] = EVENT_TOKEN
    setup.settings = load_settings(setup.config, setup.env)
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    return setup


def read_csv(data: bytes) -> list[list[str]]:
    """A file's lines as the ERP reads them: cp1252, semicolons, CRLF."""
    return list(csv.reader(io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))


def test_a_first_order_goes_out_and_the_erp_numbers_come_back_onto_norces_records(
    world: Installation, norce: NorceStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = OrderStandin(norce, query=QueryStandin(norce, application_id=APPLICATION_ID))
    orders.add_order(int(REF))
    # What Norce's checkout made of the new buyer: records without ERP numbers.
    company = norce.add_company(name="Bygg & Trä AB", organization_no=ORG_NO)
    person = norce.add_customer(first_name="Anna", last_name="Åström", email=ANNA,
                                company=company)  # fmt: skip
    with running(world.settings) as receiver:
        auth = (RECEIVER_USER, RECEIVER_PASSWORD)
        push = push_order(receiver.url(), json.dumps(first_order()).encode(), auth, retries=0)
        assert [a.answer["StatusCode"] for a in push.attempts] == ["OK"]

        # -- Norce -> ERP: the order file carries the buyer's details and no numbers.
        world.once(capsys)
        [name] = [n for n in world.remote("orders/in") if n.endswith(".csv")]
        [sent] = read_back(load_layouts(world.settings)["erp_csv"], world.remote("orders/in")[name])
        assert sent.sell_to is not None and sent.sell_to.company is not None
        assert (sent.sell_to.company.code, sent.sell_to.company.name) == (None, "Bygg & Trä AB")
        assert sent.sell_to.person is not None
        assert (sent.sell_to.person.customer_code, sent.sell_to.person.email) == (None, ANNA)

        # -- ERP -> Norce: the acknowledgement and the ERP's numbers for its new customer.
        world.drop(
            "order_status/orderstatus_20261122.csv",
            f"Ordernr;Webbordernr;Status;Statustid;Kommentar\r\nSO-200001;{REF};10;"
            "2026-11-22 09:12;Ny kund\r\n".encode("cp1252"),
            hours_ago=1,
        )
        numbers = f"Webbordernr;Ordernr;Kundnr;Orgnr;Kontaktnr;E-post\r\n{REF};SO-200001;50123;5566778899;50123-1;\r\n"
        world.drop("buyer_numbers/kundnummer_20261122.csv", numbers.encode("cp1252"))
        world.drop("buyer_numbers/kundnummer_20261122.csv.done", b"")
        world.once(capsys)

        state = norce.state
        assert state.companies[company]["Code"] == "50123"  # found by org no as Norce wrote it
        assert state.customers[person]["Code"] == "50123-1"  # by the e-mail on the order
        assert state.customers[person]["FirstName"] == "Anna"
        assert orders.order(int(REF)).status == "Confirmed"
        imports = [c.method for c in norce.calls if c.method.startswith("Customer/")]
        assert imports == ["Customer/ImportCompanies", "Customer/ImportCustomers"]

        # The ERP sends its numbers again: nothing more reaches Norce.
        world.drop("buyer_numbers/kundnummer_20261123.csv", numbers.encode("cp1252"))
        world.drop("buyer_numbers/kundnummer_20261123.csv.done", b"")
        world.once(capsys)
        assert [c.method for c in norce.calls if c.method.startswith("Customer/")] == imports

        # -- Norce -> ERP: the buyer changes their mobile number in the shop.
        norce.change_customer(person, CellPhoneNumber="+46709998877")
        event = json.dumps({"ClientId": 7, "ApplicationId": APPLICATION_ID, "CustomerId": person})
        answer = httpx.post(
            receiver.url("/events/CustomerChangedNotification"),
            content=event.encode(),
            headers={"Authorization": f"Bearer {EVENT_TOKEN}", "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        world.once(capsys)

        files = world.remote("customer_changes/in")
        [name] = [n for n in files if n.endswith(".csv")]
        assert f"{name}.done" in files
        [customer] = [line for line in read_csv(files[name]) if line[0] == "C"]
        # C, Code, NorceId, FirstName, LastName, Email, Phone, CellPhone (erp_customers_csv)
        assert customer[1:3] == ["50123-1", str(person)]
        assert (customer[5], customer[7]) == (ANNA, "+46709998877")
        # Exactly once: the next pass has nothing new for the ERP.
        world.once(capsys)
        assert sorted(world.remote("customer_changes/in")) == sorted(files)

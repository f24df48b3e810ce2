"""No log line names a person, whatever flow it comes from, at INFO and at DEBUG (issue 20,
item 1, Proof).

Every flow that carries people runs with people in its inputs, through `run.py` started as
the operator starts it (so the real logging setup and its filter are in place): the
receiver takes a pushed order and a customer and a company event; `once` sends a customers
export (customers and companies) to Norce, exports the order in both shipped layouts and
the changed parties from Norce Query, writes the ERP's numbers back onto Norce's records
(found by e-mail through Query), and sends a delivery note and an invoice to the Order
service; then Norce fails a customers job and refuses a delivery note, quoting the people;
`status` shows what was stored. The test fails when any input value of a personal field
appears in what any of these processes logged (stderr) or printed (stdout).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.log_people import (
    ESKIL,
    HELD_REF,
    MAJ_BRITT,
    NEW_MOBILE,
    REF,
    SOLVE,
    TORGUNN,
    YLVA,
    buyer_numbers_file,
    customers_file,
    delivery_note_file,
    held_order_body,
    invoice_file,
    leaks,
    order_body,
    status_file,
)
from tests.support.log_world import (
    APPLICATION_ID,
    RECEIVER_PASSWORD,
    RECEIVER_USER,
    World,
    make_world,
    post_event,
)
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin
from tests.support.order_pusher import push_order
from tests.support.sftp_server import SftpServerInfo

# What Norce says when it fails the second customers job: it quotes what the call carried
# (the new mobile number) and what it did not (the person's e-mail and personnummer, and
# another customer's e-mail). A name alone, not in the call, is beyond any filter: see
# test_a_name_norce_quotes_that_the_call_never_carried_is_not_caught below.
JOB_MESSAGE = (
    f"Customer ({TORGUNN['email'].upper()}, {TORGUNN['ssn']}) not saved: mobile {NEW_MOBILE} "
    f"is already used by {ESKIL['email']} ({ESKIL['ssn'].replace('-', '')})"
)
# What the Order service says when it refuses the second delivery note: the address quoted.
REFUSAL = (
    f"Address '{YLVA['street']}, 18230' for {YLVA['first']} {YLVA['last']} ({YLVA['phone']}, "
    f"{ESKIL['email']}) is not deliverable"
)


@pytest.fixture(params=["INFO", "DEBUG"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin
) -> World:
    """The installation, `run.py` at the level under test."""
    return make_world(tmp_path, sftp, norce, debug=request.param == "DEBUG")


def seed_norce(norce: NorceStandin) -> tuple[OrderStandin, int, int, int]:
    """Norce's side: the order, the buyer its checkout made, a customer changed in Admin,
    and a buyer on two records (one e-mail).

    Returns the Order service and the Ids of the buyer's company, the buyer and the changed
    customer.
    """
    orders = OrderStandin(norce, query=QueryStandin(norce, application_id=APPLICATION_ID))
    orders.add_order(int(REF))
    company = norce.add_company(name="Norrskog Bygg AB", organization_no="556677-8899")
    buyer = norce.add_customer(
        first_name=ESKIL["first"], last_name=ESKIL["last"], email=ESKIL["email"], company=company
    )
    m = MAJ_BRITT
    changed = norce.add_customer(
        first_name=m["first"], last_name=m["last"], email=m["email"], code="C-9300",
        PhoneNumber=m["phone"], CellPhoneNumber=m["mobile"], IsActive=True,
        InvoiceAddress={"AddressLine1": m["street"], "ZipCode": "11122", "City": "Stockholm",
                        "CountryCode": "SE"},
    )  # fmt: skip
    for _ in range(2):
        norce.add_customer(first_name=SOLVE["first"], last_name=SOLVE["last"], email=SOLVE["email"])
    return orders, company, buyer, changed


def receive(world: World, company: int, changed: int) -> None:
    """`run.py receive`: Norce pushes the order, then a customer and a company change."""
    with world.receiver() as url:
        auth = (RECEIVER_USER, RECEIVER_PASSWORD)
        push = push_order(f"{url}/orders", order_body(), auth, retries=0)
        assert [a.answer["StatusCode"] for a in push.attempts] == ["OK"]
        held = push_order(f"{url}/orders", held_order_body(), auth, retries=0)
        assert [a.answer["StatusCode"] for a in held.attempts] == ["OK"]
        post_event(url, "CustomerChangedNotification", {"CustomerId": changed})
        post_event(url, "CompanyChangedNotification", {"CompanyId": company})


@pytest.mark.slow
def test_no_flow_logs_or_prints_a_personal_value(world: World, norce: NorceStandin) -> None:
    orders, company, buyer, changed = seed_norce(norce)
    receive(world, company, changed)

    # 1: customers and companies to Norce, the acknowledgement, the order and the changed
    # parties to the ERP.
    world.drop("customers/kunder_20261201.csv", customers_file(), done=True)
    world.drop("order_status/orderstatus_20261122.csv", status_file())
    first = world.run("once")
    assert first.returncode == 0, first.stdout + first.stderr
    # 2: the ERP's numbers written back, a delivery note and an invoice to the Order service.
    world.drop("buyer_numbers/kundnummer_20261122.csv", buyer_numbers_file(), done=True)
    world.drop("delivery_notes/despatch_20261124.csv", delivery_note_file("DN-300001", 1, "100123"))
    world.drop("invoices/invoice_INV-600001.xml", invoice_file())
    second = world.run("once")
    assert second.returncode == 0, second.stdout + second.stderr
    # 3: Norce fails the next customers job and refuses the next delivery note.
    norce.finish_next_jobs(1, messages=[JOB_MESSAGE])
    norce.fail_next(status=400, path="CreateDeliveryNote", message=REFUSAL)
    world.drop("customers/kunder_20261202.csv", customers_file(NEW_MOBILE), done=True)
    world.drop("delivery_notes/despatch_20261125.csv", delivery_note_file("DN-300002", 2, "100200"))
    third = world.run("once")
    assert third.returncode == 1, third.stdout + third.stderr
    status = world.run("status")
    listed = world.run("orders")

    # Every flow ran, so the silence below means something.
    methods = [c.method for c in norce.calls]
    assert {"Customer/ImportCompanies", "Customer/ImportCustomers"} <= set(methods)
    assert norce.state.customers[buyer]["Code"] == "50123-1"  # found by e-mail via Query
    assert "refused" in second.stdout  # Sölve's numbers: his e-mail is on two records
    assert f"{HELD_REF}" in listed.stdout and "held" in listed.stdout
    assert any(n.endswith(".csv") for n in world.remote("orders/in"))
    assert any(n.endswith(".xml") for n in world.remote("orders/ubl"))
    assert any(n.endswith(".csv") for n in world.remote("customer_changes/in"))
    assert any(n.endswith(".csv") for n in world.remote("company_changes/in"))
    sent = [c.method for c in orders.calls]
    assert {"Order/SendOrderStatus", "Order/CreateDeliveryNote", "Order/CreateInvoice"} <= set(sent)
    assert "customers: kunder_20261202.csv: failed" in third.stdout and "Norce job" in third.stdout
    assert "despatch_20261125.csv: committed" in third.stdout and "1 refused" in third.stdout
    assert "delivery_note DN-300002" in status.stdout and "not deliverable" in status.stdout
    assert any(o.command == "receive" and "spooled" in o.stderr for o in world.outputs)

    found = {
        f"{n}. {o.command} ({stream})": leaks(text)
        for n, o in enumerate(world.outputs, start=1)
        for stream, text in (("log", o.stderr), ("printed", o.stdout))
        if leaks(text)
    }
    assert found == {}

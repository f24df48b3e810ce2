"""The OrderService contract: every test here runs against FileOrderService and HttpOrderService.

What the documents flow relies on (etl.to_norce.documents.sender): one answer per call, "sent"
with where it went; every call arrives once with its body exactly as built, the four methods
alike; two calls whose names differ arrive as two, whatever characters the document numbers
hold; a NorceError only when Norce gave no clear answer (the document is then in doubt and is
looked up before it is sent again), never for a refusal of the document itself.

The two differ where file mode has no Norce to answer: there every call counts as sent (no
order is unknown, no body refused, nothing goes unanswered), and a call written again replaces
the file, while Norce receives a re-sent call twice. Those tests say so and skip file mode.
PartyCodeService (etl.to_norce.documents.party_codes), the third OrderService, carries buyer numbers over
a Delivery and is tested with Query in tests/to_norce/masterdata/test_buyers_e2e.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from etl.config.settings import NorceSettings, OrderSettings
from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.base import OrderCall, OrderService
from etl.norce.client import NorceClient
from etl.norce.http_delivery import HttpDelivery
from etl.norce.order_calls import FileOrderService, HttpOrderService
from etl.norce.query import QueryClient
from etl.to_norce.documents.party_codes import PartyCodeService
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin

Arrival = tuple[str, dict[str, Any]]  # method, body
REF, ERP = 1234567, "SO-100045"
DAY = "2026-11-20T00:00:00"
ITEMS = [{"PartNo": "100123", "Quantity": 1, "UnitPrice": 100.0, "UnitVat": 25.0}]
PAYMENT = {"PaymentCode": 1, "Amount": 125.0}

STATUS = OrderCall(
    "Order/SendOrderStatus",
    {"ClientOrderRef": REF, "ErpOrderNo": ERP, "OrderStatus": "Confirmed"},
    f"order_status-{ERP} / 10",
)
NOTE = OrderCall(
    "Order/CreateDeliveryNote",
    {"OrderNo": ERP, "NoteNo": "DN-1", "DeliveryDate": DAY,
     "DeliveryNotePackages": [{"ParcelNumber": "PKG-1"}]},
    "delivery_note-DN-1",
)  # fmt: skip
_INVOICE = {"ClientOrderRef": REF, "ErpOrderNo": ERP, "CurrencyCode": "SEK", "InvoiceDate": DAY,
            "Payment": PAYMENT, "Items": ITEMS, "IsLastInvoiceForOrder": False}  # fmt: skip
INVOICE = OrderCall("Order/CreateInvoice", {**_INVOICE, "InvoiceNo": "INV-1"}, "invoice-INV-1")
CREDIT = OrderCall(
    "Order/CreditPayment",
    {**_INVOICE, "InvoiceNo": "CR-1", "CreditedInvoiceNo": "INV-1"},
    "credit-CR-1",
)
EVERY_METHOD = [STATUS, NOTE, INVOICE, CREDIT]  # a credit after the invoice it credits


@dataclass
class Side:
    """An OrderService under test and what its far side (Norce, or the outbox) received."""

    kind: str
    factory: Callable[[], OrderService]
    arrived: Callable[[], list[Arrival]]
    orders: OrderStandin | None = None
    opened: list[NorceClient] = field(default_factory=list)

    def make(self) -> OrderService:
        """A new service, as a new process would open it."""
        return self.factory()

    def norce(self, why: str) -> OrderStandin:
        """The Order service stand-in behind http mode; skips file mode with `why`."""
        if self.orders is None:
            pytest.skip(f"file mode: {why}")
        return self.orders


@pytest.fixture(params=["file", "http"])
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Side]:
    """Every OrderService implementation in turn; http mode knows the order REF / ERP."""
    if request.param == "file":
        outbox = tmp_path / "outbox"
        yield Side(
            "file",
            factory=lambda: FileOrderService(outbox, NorceSettings()),
            arrived=lambda: _outbox_arrivals(outbox / "norce"),
        )
        return
    norce: NorceStandin = request.getfixturevalue("norce")
    orders = OrderStandin(norce)
    orders.add_order(REF, ERP)
    chosen = Side(
        "http",
        factory=lambda: _http(norce, chosen),
        arrived=lambda: [(c.method, c.body) for c in orders.calls],
        orders=orders,
    )
    yield chosen
    for client in chosen.opened:
        client.close()


@pytest.fixture
def service(side: Side) -> OrderService:
    """A service of the kind under test."""
    return side.make()


def _http(norce: NorceStandin, side: Side) -> OrderService:
    client = NorceClient(norce.settings(), sleep=lambda seconds: None)
    side.opened.append(client)
    return HttpOrderService(client)


def _no_email(ref: str) -> str | None:
    return None


def _outbox_arrivals(root: Path) -> list[Arrival]:
    """Each written call as it would be posted, in file-name order."""
    arrived: list[Arrival] = []
    for request_file in sorted(root.rglob("*.request.json")):
        request = json.loads(request_file.read_text())
        body = request_file.with_name(request_file.name.replace(".request.json", ".json"))
        method = request["path"].removeprefix(NorceSettings().connect_path + "/")
        arrived.append((method, json.loads(body.read_bytes())))
    return arrived


def _sorted(arrivals: list[Arrival]) -> list[str]:
    return sorted(json.dumps(a, sort_keys=True) for a in arrivals)


# -- what arrives ---------------------------------------------------------------------------


@pytest.mark.parametrize("call", EVERY_METHOD[:3], ids=lambda c: c.method)
def test_a_call_is_sent_once_exactly_as_built(
    side: Side, service: OrderService, call: OrderCall
) -> None:
    answer = service.send(call, "documents")

    assert (answer.outcome, answer.message, answer.code) == ("sent", "", "")
    assert answer.location
    assert side.arrived() == [(call.method, dict(call.body))]


def test_every_method_arrives_one_call_each(side: Side, service: OrderService) -> None:
    answers = [service.send(call, "documents") for call in EVERY_METHOD]

    assert [a.outcome for a in answers] == ["sent"] * len(EVERY_METHOD)
    assert _sorted(side.arrived()) == _sorted([(c.method, dict(c.body)) for c in EVERY_METHOD])


def test_names_that_differ_only_in_unsafe_characters_are_two_calls(
    side: Side, service: OrderService
) -> None:
    # Document numbers may hold "/" or spaces; file names replace them, yet stay distinct.
    one = OrderCall(STATUS.method, STATUS.body, "order_status-SO-1 / 10")
    two = OrderCall(
        STATUS.method, {**STATUS.body, "OrderStatus": "Delivered"}, "order_status-SO-1_10"
    )

    answers = [service.send(one, "documents"), service.send(two, "documents")]

    assert [a.outcome for a in answers] == ["sent", "sent"]
    assert _sorted(side.arrived()) == _sorted([(c.method, dict(c.body)) for c in (one, two)])


def test_a_call_sent_again_after_a_restart_is_sent_again(side: Side, service: OrderService) -> None:
    # A delivery note in doubt is sent again without a lookup (etl.to_norce.documents.sender).
    first = service.send(NOTE, "documents")

    again = side.make().send(NOTE, "documents")

    assert (again.outcome, again.location) == ("sent", first.location)


def test_a_call_sent_again_replaces_the_first(side: Side, service: OrderService) -> None:
    if side.kind == "http":
        pytest.skip(
            "http mode: Norce receives a call sent again twice and judges it itself (a second "
            "delivery note is kept, an invoice number used again is refused); the sender looks "
            "invoices and statuses up before it sends one again"
        )
    service.send(NOTE, "documents")

    side.make().send(NOTE, "documents")

    assert side.arrived() == [(NOTE.method, dict(NOTE.body))]


# -- answers that are not "sent" ------------------------------------------------------------


def test_an_order_norce_does_not_know_yet_is_waiting(side: Side, service: OrderService) -> None:
    side.norce("no order is unknown where nothing is looked up; the call counts as sent")
    unknown = OrderCall(STATUS.method, {"ClientOrderRef": 7, "OrderStatus": "Confirmed"}, "x")

    answer = service.send(unknown, "documents")

    assert (answer.outcome, answer.message) == ("waiting", "Order not found (ClientOrderRef 7)")
    assert side.arrived() == []


def test_a_document_norce_refuses_is_refused_with_its_message_not_raised(
    side: Side, service: OrderService
) -> None:
    side.norce("nothing is refused where nothing answers")
    service.send(INVOICE, "documents")

    answer = service.send(INVOICE, "documents")  # the same InvoiceNo again

    assert (answer.outcome, answer.status) == ("refused", 400)
    assert answer.message == "InvoiceNo INV-1 already exists"


@pytest.mark.parametrize("status", [500, 503])
def test_no_clear_answer_raises_unavailable_and_is_not_sent_twice(
    side: Side, service: OrderService, status: int
) -> None:
    orders = side.norce("nothing can go unanswered where nothing is posted")
    orders.standin.fail_next(1, status=status, path=INVOICE.method)

    with pytest.raises(NorceUnavailable, match="may or may not have been processed"):
        service.send(INVOICE, "documents")

    assert orders.standin.hits(INVOICE.method) == 1  # a capture must never happen twice


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_about_the_setup_raises_instead_of_refusing_the_document(
    side: Side, service: OrderService, status: int
) -> None:
    orders = side.norce("there are no credentials or rights to lack")
    orders.standin.fail_next(2, status=status, path=STATUS.method, message="Order not found")

    with pytest.raises(NorceRejected) as caught:
        service.send(STATUS, "documents")

    assert caught.value.status == status


# -- PartyCodeService, the third OrderService: its refusals about the setup raise too ---------


def test_buyer_numbers_refused_for_the_setup_raise_instead_of_closing_the_document(
    norce: NorceStandin,
) -> None:
    # A 401 that a fresh token does not cure is the setup's fault (credentials, rights), as
    # a 403 is: the run must fail and the document stay open, not be closed as refused.
    buyer = norce.add_customer(first_name="Eva", email="eva@example.com")
    QueryStandin(norce, application_id=1042)
    settings = norce.settings(application_id=1042)
    call = OrderCall(
        "Customer/BuyerNumbers",
        {"ClientOrderRef": REF, "Customer": {"Code": "C-9", "EmailAddress": "eva@example.com"}},
        f"buyer_number-{REF}",
    )
    norce.fail_next(2, status=401, path="Customer/ImportCustomers")
    with NorceClient(settings, sleep=lambda seconds: None) as client:
        query = QueryClient(settings, OrderSettings().query_path, connect=client)
        service = PartyCodeService(HttpDelivery(client, settings), 1001, lambda: query, _no_email)
        try:
            with pytest.raises(NorceRejected) as caught:
                service.send(call, "buyer_numbers")
        finally:
            query.close()

    assert caught.value.status == 401
    assert norce.state.customers[buyer].get("Code") is None

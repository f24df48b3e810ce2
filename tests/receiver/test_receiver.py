"""The order receiver: the real ReceiverApp under a real uvicorn server on 127.0.0.1.

Each test posts over HTTP (httpx, a raw socket where a client must misbehave, or the Norce
pusher) and then looks at what landed: the spool folder, the order book in the ledger, and
archive/orders/rejected/.
"""

from __future__ import annotations

import base64
import datetime as dt
import errno
import hashlib
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl.state.spool import spool_name
from etl.to_erp.orders.bodies import parse_order
from etl.to_erp.orders.model import OrderRequest
from tests.support.order_pusher import push_order
from tests.support.orders import encode, order
from tests.support.receiver import (
    LIMIT,
    PASSWORD,
    USER,
    Receiver,
    bound_socket,
    receiver_settings,
    running,
    serving,
)

XML_ORDER = b"""<?xml version="1.0" encoding="utf-8"?>
<OrderRequest xmlns="http://schemas.datacontract.org/2004/07/Enferno.Services.StormConnect.Contracts"
              xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <ClientOrderRef>7654321</ClientOrderRef>
  <CurrencyCode>NOK</CurrencyCode>
  <DoHold>false</DoHold>
  <ErpOrderNo i:nil="true"/>
  <Items>
    <OrderItem><LineNo>1</LineNo><PartNo>100123</PartNo><Quantity>3</Quantity>
      <UnitPrice>79.20</UnitPrice><UnitVat>19.80</UnitVat></OrderItem>
    <OrderItem><LineNo>2</LineNo><PartNo>200456</PartNo><Quantity>1</Quantity>
      <UnitPrice>10.00</UnitPrice><UnitVat>2.50</UnitVat></OrderItem>
  </Items>
  <Payments><Payment><PaymentMethodCode>INVOICE</PaymentMethodCode><Amount>309.50</Amount>
  </Payment></Payments>
</OrderRequest>
"""

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OrderRequest><ClientOrderRef>&lol3;</ClientOrderRef></OrderRequest>
"""


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with running(receiver_settings(tmp_path)) as r:
        yield r


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send bytes as they are and read the answer until the server closes or 2 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(request)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b'"StatusCode"' in b"".join(chunks):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def basic() -> str:
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


# ---------------------------------------------------------------- the happy path


def test_ok_answer_has_the_order_response_shape(receiver: Receiver) -> None:
    response = receiver.post(encode(order()))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "StatusCode": "OK", "Description": "queued", "HasErpOrderNo": False, "ErpOrderNo": None,
    }  # fmt: skip


def test_the_answer_comes_after_the_body_is_spooled_and_booked(receiver: Receiver) -> None:
    body = encode(order("5550001"))
    assert receiver.post(body).status_code == 200
    sha = hashlib.sha256(body).hexdigest()
    spooled = receiver.spool / spool_name("5550001", sha, "json")
    assert spooled.read_bytes() == body
    with receiver.book() as book:
        row = book.order("5550001")
    assert row is not None
    assert (row.sha256, row.spool_name) == (sha, spooled.name)
    assert (row.source, row.state) == ("push", "spooled")


def test_concurrent_senders_each_get_ok_and_every_order_is_booked_once(
    receiver: Receiver,
) -> None:
    # Found by bench/orders.py: requests on different worker threads once shared one SQLite
    # connection ("cannot start a transaction within a transaction", answered 500).
    refs = [f"77{n:05d}" for n in range(60)]
    answers: dict[str, int] = {}

    def send(chunk: list[str]) -> None:
        with httpx.Client(auth=(USER, PASSWORD), timeout=20) as client:
            for ref in chunk:
                response = client.post(
                    receiver.url(),
                    content=encode(order(ref)),
                    headers={"Content-Type": "application/json"},
                )
                answers[ref] = response.status_code

    senders = [threading.Thread(target=send, args=(refs[i::12],)) for i in range(12)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()

    assert answers == dict.fromkeys(refs, 200)
    with receiver.book() as book:
        booked = sorted(row.ref for row in book.orders(limit=100))
    assert booked == refs
    assert len(list(receiver.spool.glob("77*.json"))) == len(refs)


def test_create_order_suffix_is_accepted_too(receiver: Receiver) -> None:
    response = receiver.post(encode(order("5550002")), path="/orders/CreateOrder")
    assert response.json()["StatusCode"] == "OK"
    assert receiver.post(encode(order()), path="/orders/Other").status_code == 404


def test_a_retry_of_the_same_order_is_ok_and_writes_nothing_new(receiver: Receiver) -> None:
    body = encode(order())
    assert receiver.post(body).json()["Description"] == "queued"
    again = receiver.post(body)
    assert again.status_code == 200 and again.json()["StatusCode"] == "OK"
    assert again.json()["Description"] == "already received"
    assert len(receiver.spooled()) == 1
    with receiver.book() as book:
        assert len(book.orders()) == 1


def test_a_different_body_under_a_known_ref_is_kept_but_not_exported(receiver: Receiver) -> None:
    first, second = encode(order()), encode(order(CustomerOrderComment="changed"))
    receiver.post(first)
    answer = receiver.post(second)
    assert answer.status_code == 200 and answer.json()["StatusCode"] == "OK"
    assert "different content" in answer.json()["Description"]
    assert len(receiver.spooled()) == 2
    assert receiver.variants() == [("1234567", hashlib.sha256(second).hexdigest())]
    with receiver.book() as book:
        due = book.due("any-layout", 10)
    assert [(o.ref, o.sha256) for o in due] == [("1234567", hashlib.sha256(first).hexdigest())]


def test_an_xml_body_with_datacontract_lists_is_accepted(receiver: Receiver) -> None:
    response = receiver.post(XML_ORDER, headers={"Content-Type": "application/xml"})
    assert response.json()["StatusCode"] == "OK"
    with receiver.book() as book:
        row = book.order("7654321")
    assert row is not None and (row.kind, row.state) == ("xml", "spooled")
    assert (receiver.spool / row.spool_name).read_bytes() == XML_ORDER


# ---------------------------------------------------------------- who may post


@pytest.mark.parametrize(
    "auth", [(USER, "wrong-password"), ("someone", PASSWORD), (USER, PASSWORD + "x"), None]
)
def test_without_the_right_credentials_the_answer_is_401(
    receiver: Receiver, auth: tuple[str, str] | None
) -> None:
    response = receiver.post(encode(order()), auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["StatusCode"] == "Failed"
    assert receiver.spooled() == [] and receiver.rejected() == []


def test_the_basic_scheme_is_matched_in_any_case(receiver: Receiver) -> None:
    lower = "basic " + basic().split(" ", 1)[1]
    headers = {"Content-Type": "application/json", "Authorization": lower}
    assert receiver.post(encode(order()), auth=None, headers=headers).status_code == 200
    bearer = {"Content-Type": "application/json", "Authorization": "Bearer " + basic()[6:]}
    assert receiver.post(encode(order()), auth=None, headers=bearer).status_code == 401


# ---------------------------------------------------------------- hostile or broken bodies


def test_a_body_over_the_limit_is_413(receiver: Receiver) -> None:
    big = encode(order(CustomerOrderComment="x" * LIMIT))
    response = receiver.post(big)
    assert response.status_code == 413
    assert receiver.spooled() == [] and receiver.rejected() == []


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    receiver: Receiver,
) -> None:
    head = (
        f"POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: {basic()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {10**9}\r\n\r\n"
    )
    answer = raw_exchange(receiver.port, head.encode() + b'{"ClientOrderRef": "1"}')
    assert answer.startswith(b"HTTP/1.1 413")
    assert receiver.spooled() == []


def test_a_chunked_body_over_the_limit_is_counted_and_refused(receiver: Receiver) -> None:
    chunk = b"x" * 1024

    def chunks() -> Iterator[bytes]:
        yield b'{"ClientOrderRef": "1", "Comment": "'
        for _ in range(LIMIT // len(chunk) + 2):
            yield chunk
        yield b'"}'

    response = httpx.post(
        receiver.url(), content=chunks(), auth=(USER, PASSWORD), timeout=10,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert receiver.spooled() == []


def test_a_content_length_shorter_than_the_body_only_takes_the_declared_bytes(
    receiver: Receiver,
) -> None:
    body = encode(order("5550003"))
    head = (
        f"POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: {basic()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
    )
    answer = raw_exchange(receiver.port, head.encode() + body + b"x" * (2 * LIMIT))
    assert answer.startswith(b"HTTP/1.1 400")
    assert receiver.spooled() == []
    # The server framed the body by Content-Length: the first 20 bytes were the whole order.
    kept, reason = receiver.rejected()
    assert kept.read_bytes() == body[:20] and "not JSON" in reason.read_text(encoding="utf-8")


def test_malformed_json_is_400_failed_and_kept_with_its_reason(receiver: Receiver) -> None:
    body = b'{"ClientOrderRef": "1234567", "Items": [}'
    response = receiver.post(body)
    assert response.status_code == 400
    assert response.json()["StatusCode"] == "Failed"
    assert "not JSON" in response.json()["Description"]
    kept, reason = receiver.rejected()
    assert kept.suffix == ".json" and kept.read_bytes() == body
    assert reason.name == kept.name + ".reason.txt"
    assert "not JSON" in reason.read_text(encoding="utf-8")
    assert receiver.spooled() == []


def test_xml_with_a_doctype_entity_bomb_is_refused_and_kept(receiver: Receiver) -> None:
    response = receiver.post(XML_BOMB, headers={"Content-Type": "text/xml"})
    assert response.status_code == 400
    assert "DOCTYPE" in response.json()["Description"]
    kept, reason = receiver.rejected()
    assert kept.suffix == ".xml" and kept.read_bytes() == XML_BOMB
    assert "DOCTYPE" in reason.read_text(encoding="utf-8")
    with receiver.book() as book:
        assert book.orders() == []


# ---------------------------------------------------------------- held, not refused


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"DoHold": True}, "DoHold"),
        ({"CurrencyCode": "XYZ"}, "currency 'XYZ'"),
        ({"Items": [{"LineNo": 1, "PartNo": "FREIGHT", "Quantity": 1, "TypeGroup": "Fee"}]},
         "no order lines"),
        ({"Items": [{"LineNo": 1, "PartNo": "100123", "Quantity": -2}]}, "negative quantity"),
    ],
)  # fmt: skip
def test_an_order_that_fails_a_check_is_ok_but_held_with_the_reason(
    receiver: Receiver, changes: dict[str, Any], reason: str
) -> None:
    response = receiver.post(encode(order("5550009", **changes)))
    assert response.status_code == 200 and response.json()["StatusCode"] == "OK"
    with receiver.book() as book:
        row = book.order("5550009")
        assert book.due("any-layout", 10) == []
    assert row is not None and row.state == "held"
    assert reason in (row.reason or "")


# ---------------------------------------------------------------- what Norce's serializer writes

SECRET = "anna.secret@example.com"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """One receiver for the tests below (each uses refs of its own), taking bodies of 1 MB
    so the parser meets what a million-deep body is made of."""
    folder = tmp_path_factory.mktemp("shared")
    with running(receiver_settings(folder, max_body_bytes=1024**2)) as r:
        yield r


def _lines(**changes: Any) -> list[dict[str, Any]]:
    """The lines of `order()`, the first one changed."""
    first, freight = order()["Items"]
    return [first | changes, freight]


@pytest.mark.parametrize(
    "changes",
    [
        {"Fees": None},
        {"AdditionalInfo": None},
        {"Payments": None},
        {"Discounts": None},
        {"DoHold": None},
        {"ShippingAdvice": None, "BillTo": None, "Header": None},
        {"Items": _lines(AdditionalInfo=None, Promotions=None)},
        {"Payments": [{"PaymentCode": 98765, "Amount": 247.0, "AdditionalInfo": None}]},
        {"SellTo": {"Person": {"FirstName": "Anna", "AdditionalInfo": None, "Address": None},
                    "Company": None}},
        {"Items": _lines(PriceListNo=3)},
        {"SellTo": {"Company": {"Code": 5566, "Name": "Bygg AB", "VatNo": "SE556600000001"}}},
        {"AdditionalInfo": [None, {"Code2": "Channel", "Value": "B2B"}]},
    ],
    ids=["Fees", "AdditionalInfo", "Payments", "Discounts", "DoHold", "objects", "item lists",
         "payment lists", "person lists", "PriceListNo", "Company.Code", "null entry"],
)  # fmt: skip
def test_null_for_an_empty_list_or_object_and_a_number_for_text_are_taken(
    shared: Receiver, changes: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    ref = f"null-{request.node.callspec.id}"
    response = shared.post(encode(order(ref, **changes)))
    assert (response.status_code, response.json()["StatusCode"]) == (200, "OK")
    with shared.book() as book:
        row = book.order(ref)
    assert row is not None and row.state == "spooled", row and row.reason


def spooled_order(receiver: Receiver, ref: str) -> OrderRequest:
    """The order as the export job will read it back from the spool."""
    with receiver.book() as book:
        row = book.order(ref)
    assert row is not None
    return parse_order((receiver.spool / row.spool_name).read_bytes(), row.kind)


def test_numbers_become_their_exact_text_and_numeric_text_becomes_numbers(
    shared: Receiver,
) -> None:
    body = b"""{"ClientOrderRef": 5550021, "CurrencyCode": "SEK", "DoHold": "false",
      "SellTo": {"Company": {"Code": 5566.10, "VatNo": 556600000001}},
      "Items": [{"LineNo": "1", "PartNo": 100123, "Quantity": "2", "UnitPrice": "79.20",
                 "UnitVat": "19.80", "PriceListNo": 3, "VatRate": "25"}],
      "Payments": [{"PaymentCode": "98765", "Amount": "198.00"}]}"""
    assert shared.post(body).status_code == 200
    taken = spooled_order(shared, "5550021")
    assert taken.sell_to is not None and taken.sell_to.company is not None
    assert (taken.sell_to.company.code, taken.sell_to.company.vat_no) == ("5566.10", "556600000001")
    (line,) = taken.items
    assert (line.line_no, line.part_no, line.price_list_no) == (1, "100123", "3")
    assert (line.quantity, line.unit_price, line.vat_rate) == (2, Decimal("79.20"), 25)
    assert (taken.do_hold, taken.payments[0].payment_code) == (False, 98765)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("/Date(1763647500000)/", dt.datetime(2025, 11, 20, 14, 5, tzinfo=dt.UTC)),
        ("/Date(1763647500000+0100)/", dt.datetime(2025, 11, 20, 14, 5, tzinfo=dt.UTC)),
        ("2025-11-20T15:05:00.1234567+01:00", dt.datetime(2025, 11, 20, 14, 5, 0, 123456, dt.UTC)),
    ],
    ids=["wcf", "wcf with offset", "seven decimals"],
)
def test_a_submit_date_as_dotnet_writes_it_is_read(
    shared: Receiver, written: str, meant: dt.datetime, request: pytest.FixtureRequest
) -> None:
    # WCF's JSON writes /Date(milliseconds since 1970 UTC[+zone of the writer])/; the zone
    # only says where the writer was, the instant is the milliseconds.
    ref = f"date-{request.node.callspec.id}"
    assert shared.post(encode(order(ref, SubmitDate=written))).status_code == 200
    with shared.book() as book:
        row = book.order(ref)
    assert row is not None and row.state == "spooled", row and row.reason
    assert spooled_order(shared, ref).submit_date == meant


XML_NILS = b"""<?xml version="1.0" encoding="utf-8"?>
<OrderRequest xmlns="http://schemas.datacontract.org/2004/07/Enferno.Services.StormConnect.Contracts"
              xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <AdditionalInfo/>
  <BillTo i:nil="true"/>
  <ClientOrderRef>5550022</ClientOrderRef>
  <CurrencyCode>SEK</CurrencyCode>
  <Discounts i:nil="1"/>
  <DoHold/>
  <Fees i:nil="true"/>
  <Items>
    <OrderItem><AdditionalInfo i:nil="true"/><LineNo>1</LineNo><PartNo>100123</PartNo>
      <PriceListNo>3</PriceListNo><Promotions/><Quantity>2</Quantity></OrderItem>
  </Items>
  <Payments i:nil="true"/>
  <SellTo><Company><Code>5566</Code></Company>
    <Person><AdditionalInfo i:nil="true"/><FirstName>Anna</FirstName></Person></SellTo>
</OrderRequest>
"""


def test_an_xml_body_with_nil_and_empty_elements_is_taken(shared: Receiver) -> None:
    response = shared.post(XML_NILS, headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.json()
    taken = spooled_order(shared, "5550022")
    assert (taken.fees, taken.payments, taken.discounts, taken.do_hold) == ([], [], [], False)
    assert taken.items[0].promotions == [] and taken.items[0].price_list_no == "3"


# ---------------------------------------------------------------- readable but not right


def test_a_value_of_the_wrong_kind_is_taken_and_held_with_where_it_was(
    shared: Receiver,
) -> None:
    body = order("5550023", Items=_lines(Quantity="two"), SubmitDate="not a date",
                 SellTo={"Person": {"Email": SECRET, "FirstName": ["Anna"]}})  # fmt: skip
    response = shared.post(encode(body))
    assert (response.status_code, response.json()["StatusCode"]) == (200, "OK")
    with shared.book() as book:
        row = book.order("5550023")
        assert "5550023" not in [o.ref for o in book.due("any-layout", 100)]
    assert row is not None and row.state == "held"
    reason = row.reason or ""
    assert "Items.0.Quantity" in reason and "SubmitDate" in reason
    assert "SellTo.Person.FirstName" in reason
    assert "two" not in reason and "Anna" not in reason and "not a date" not in reason
    # Released, it goes with the unreadable values left empty; the rest is as sent.
    taken = spooled_order(shared, "5550023")
    assert taken.items[0].quantity is None and taken.submit_date is None
    assert taken.sell_to is not None and taken.sell_to.person is not None
    assert taken.sell_to.person.email == SECRET


def test_values_left_out_of_lists_keep_the_other_entries_where_they_were(
    shared: Receiver,
) -> None:
    first, freight = _lines(Type={"Odd": 1})  # neither str nor int: two errors, one value
    body = order("5550024", Items=[None, first, "not a line", freight])
    assert shared.post(encode(body)).status_code == 200
    with shared.book() as book:
        row = book.order("5550024")
    assert row is not None and row.state == "held"
    assert (row.reason or "").count("left empty") == 2
    assert "Items.0.Type:" in (row.reason or "") and "Items.1:" in (row.reason or "")
    taken = spooled_order(shared, "5550024")
    assert [(i.part_no, i.type) for i in taken.items] == [("100123", None), ("FREIGHT", "Freight")]


def test_a_ref_longer_than_norce_allows_is_taken_and_held(shared: Receiver) -> None:
    ref = "R" * 51
    assert shared.post(encode(order(ref))).status_code == 200
    with shared.book() as book:
        row = book.order(ref)
    assert row is not None and row.state == "held"
    assert "ClientOrderRef" in (row.reason or "") and "50" in (row.reason or "")


@pytest.mark.parametrize("ref", [None, "", "   ", ["1234567"], {"Id": 1}, True])
def test_an_order_without_a_usable_ref_cannot_be_identified_and_is_refused(
    shared: Receiver, ref: Any
) -> None:
    # Without ClientOrderRef no retry could be told from a new order: refusing is right.
    body = encode(order(ClientOrderRef=ref))
    response = shared.post(body)
    assert response.status_code == 400
    assert "ClientOrderRef" in response.json()["Description"]
    _, reason = shared.rejected_copy(body)
    assert "ClientOrderRef" in reason.read_text(encoding="utf-8")


# ---------------------------------------------------------------- bodies that cannot be read


DEEP = f'{{"ClientOrderRef": "5550030", "Email": "{SECRET}", "X": '.encode()
UNREADABLE = [
    ("json", DEEP + b"[" * 200_000 + b"]" * 200_000 + b"}", "nested deeper"),
    ("json", DEEP + b"9" * 100_000 + b"}", "100000 digits"),
    ("json", DEEP + b'{"Quantity": 1.' + b"5" * 100_000 + b"}}", "100001 digits"),
    ("json", DEEP + b"NaN}", "not JSON: NaN"),
    ("json", DEEP + b'"unterminated}', "not JSON"),
    ("xml", b"<OrderRequest><ClientOrderRef>5550030</ClientOrderRef><Email>" + SECRET.encode()
     + b"</Email><X>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</X></OrderRequest>",
     "nested deeper"),
    ("xml", b"<OrderRequest><ClientOrderRef>5550030</ClientOrderRef><Items><OrderItem><Quantity>"
     + b"9" * 100_000 + b"</Quantity></OrderItem></Items></OrderRequest>", "100000 digits"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    UNREADABLE,
    ids=["deep json", "long int", "long decimal", "NaN", "broken json", "deep xml", "long xml"],
)
def test_a_body_that_cannot_be_read_is_400_and_kept_with_a_reason_without_its_data(
    shared: Receiver, kind: str, body: bytes, reason: str
) -> None:
    response = shared.post(body, headers={"Content-Type": f"application/{kind}"})
    assert (response.status_code, response.json()["StatusCode"]) == (400, "Failed")
    assert reason in response.json()["Description"]
    kept, why = shared.rejected_copy(body)
    assert kept.read_bytes() == body and kept.suffix == f".{kind}"
    text = why.read_text(encoding="utf-8")
    assert reason in text and SECRET not in text and len(text) < 500
    with shared.book() as book:
        assert book.order("5550030") is None


# ---------------------------------------------------------------- restarts and Norce's retries


def test_a_spooled_order_the_book_never_heard_of_is_recorded_at_startup(tmp_path: Path) -> None:
    settings = receiver_settings(tmp_path)
    body = encode(order("5550010"))
    folder = settings.folder("state") / "spool" / "orders"
    folder.mkdir(parents=True)
    # As if the process died after the spool's fsync and before the book's commit.
    (folder / spool_name("5550010", hashlib.sha256(body).hexdigest(), "json")).write_bytes(body)
    with running(settings) as receiver, receiver.book() as book:
        row = book.order("5550010")
        assert row is not None and (row.source, row.state) == ("recovered", "spooled")
        assert len(receiver.spooled()) == 1


def test_norce_retries_until_the_receiver_is_up_and_the_order_lands_once(tmp_path: Path) -> None:
    settings = receiver_settings(tmp_path)
    sock = bound_socket()  # bound, not listening: the receiver is down
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/orders"
    started: list[float] = []
    with ExitStack() as stack:

        def start_receiver(seconds: float) -> None:
            # Norce's backoff: the receiver comes back while Norce waits.
            if not started:
                stack.enter_context(serving(settings, sock))
            started.append(seconds)

        result = push_order(url, encode(order()), (USER, PASSWORD), retries=3, backoff=2.0,
                            sleep=start_receiver)  # fmt: skip
        assert result.delivered
        assert [a.status for a in result.attempts] == [None, 200]
        assert "ConnectError" in (result.attempts[0].error or "")
        assert result.slept == [2.0]
        assert len(Receiver(settings, 0).spooled()) == 1


def test_norce_timing_out_retries_without_the_order_landing_twice(tmp_path: Path) -> None:
    # The receiver answers only after 0.6 s; Norce (here with a 0.2 s timeout instead of 5 s)
    # gives up on every attempt. Each attempt was spooled before its answer, and the retries
    # found the order already there: it is kept exactly once.
    with running(receiver_settings(tmp_path, pause_before_answer_seconds=0.6)) as receiver:
        result = push_order(receiver.url(), encode(order()), (USER, PASSWORD), retries=2,
                            backoff=0.0, timeout=0.2)  # fmt: skip
        assert not result.delivered
        assert [a.status for a in result.attempts] == [None, None, None]
        assert all("Timeout" in (a.error or "") for a in result.attempts)
        assert len(receiver.spooled()) == 1
        with receiver.book() as book:
            assert [o.ref for o in book.orders()] == ["1234567"]
        late = receiver.post(encode(order()))  # Norce's next retry, with patience
        assert late.json()["Description"] == "already received"


def test_a_failed_answer_counts_as_a_failure_for_norce(receiver: Receiver) -> None:
    result = push_order(receiver.url(), b"{broken", (USER, PASSWORD), retries=1, backoff=0.0)
    assert not result.delivered
    assert [(a.status, a.answer["StatusCode"]) for a in result.attempts] == [
        (400, "Failed"), (400, "Failed"),
    ]  # fmt: skip


def test_a_disk_error_on_the_spool_is_a_503_for_norce_to_retry_never_an_ok(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by profiling issue 18: the spool's folder fsync swallowed an EIO and the order was
    # answered 200 though its spool entry might not survive a power cut.
    real_fsync = os.fsync

    def failing_disk(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_disk)
    answer = receiver.post(encode(order("5550012")))
    monkeypatch.undo()
    assert (answer.status_code, answer.json()["StatusCode"]) == (503, "Failed")
    with receiver.book() as book:
        assert book.orders() == []
    # The disk is well again: Norce's retry lands the order once.
    assert receiver.post(encode(order("5550012"))).json()["Description"] == "queued"


def test_a_sender_that_hangs_up_mid_body_leaves_nothing_behind(receiver: Receiver) -> None:
    body = encode(order("5550011"))
    head = (
        f"POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: {basic()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=2) as conn:
        conn.sendall(head.encode() + body[: len(body) // 2])
    time.sleep(0.3)  # let the server notice the hang-up
    # Half a body is not a refused order: nothing kept as rejected, nothing spooled.
    assert receiver.rejected() == [] and receiver.spooled() == []
    assert receiver.post(body).json()["Description"] == "queued"


def test_a_restart_does_not_take_a_kept_variant_for_a_lost_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = receiver_settings(tmp_path)
    with running(settings) as receiver:
        receiver.post(encode(order()))
        receiver.post(encode(order(CustomerOrderComment="changed")))
    caplog.clear()
    with running(settings) as receiver:
        assert len(receiver.spooled()) == 2
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(Receiver(settings, 0).variants()) == 1

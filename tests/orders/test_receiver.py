"""The order receiver: the real ReceiverApp under a real uvicorn server on 127.0.0.1.

Each test posts over HTTP (httpx, a raw socket where a client must misbehave, or the Norce
pusher) and then looks at what landed: the spool folder, the order book in the ledger, and
archive/orders/rejected/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from etl.orders.book import OrderBook
from etl.orders.receiver import ReceiverApp
from etl.orders.spool import spool_name
from etl.settings import LocalStoreSettings, ReceiverSettings, Settings
from tests.fakes.order_pusher import push_order
from tests.flows.helpers import settings_for

USER, PASSWORD = "norce", "receiver-test-password"
LIMIT = 8 * 1024


def order(ref: str = "1234567", **changes: Any) -> dict[str, Any]:
    """An OrderRequest as in reference section 11."""
    body: dict[str, Any] = {
        "Header": {"ApplicationKey": "00000000-0000-0000-0000-000000000000"},
        "ClientOrderRef": ref,
        "SubmitDate": "2026-05-01T12:00:00",
        "CurrencyCode": "SEK",
        "OrderType": 1,
        "Source": "WEB",
        "DoHold": False,
        "SellTo": {"Person": {"CustomerCode": "C-000123", "FirstName": "Anna",
                              "LastName": "Andersson", "Email": "anna@example.com"}},
        "ShipTo": {"Person": {"Address": {"Line1": "Storgatan 1", "ZipCode": "11122",
                                          "City": "Stockholm", "Country": "SE"}}},
        "Payments": [{"PaymentCode": 98765, "PaymentMethodCode": "KLARNA", "Amount": 247.0}],
        "Items": [
            {"LineNo": 1, "PartNo": "100123", "Description": "Arbetshandske L", "Quantity": 2,
             "UnitPrice": 79.2, "VatRate": 25, "Type": "ErpStandard", "TypeGroup": "Physical"},
            {"LineNo": 2, "PartNo": "FREIGHT", "Quantity": 1, "UnitPrice": 39.2, "VatRate": 25,
             "Type": "Freight", "TypeGroup": "Fee"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


XML_ORDER = b"""<?xml version="1.0" encoding="utf-8"?>
<OrderRequest xmlns="http://schemas.datacontract.org/2004/07/Enferno.Services.StormConnect.Contracts"
              xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <ClientOrderRef>7654321</ClientOrderRef>
  <CurrencyCode>NOK</CurrencyCode>
  <DoHold>false</DoHold>
  <ErpOrderNo i:nil="true"/>
  <Items>
    <OrderItem><LineNo>1</LineNo><PartNo>100123</PartNo><Quantity>3</Quantity>
      <UnitPrice>79.20</UnitPrice></OrderItem>
    <OrderItem><LineNo>2</LineNo><PartNo>200456</PartNo><Quantity>1</Quantity>
      <UnitPrice>10.00</UnitPrice></OrderItem>
  </Items>
  <Payments><Payment><PaymentMethodCode>INVOICE</PaymentMethodCode></Payment></Payments>
</OrderRequest>
"""

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OrderRequest><ClientOrderRef>&lol3;</ClientOrderRef></OrderRequest>
"""


@dataclass
class Receiver:
    """A running receiver and where it keeps things."""

    settings: Settings
    port: int

    def url(self, path: str = "/orders") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def post(self, body: bytes, *, path: str = "/orders", **options: Any) -> httpx.Response:
        options.setdefault("auth", (USER, PASSWORD))
        options.setdefault("headers", {"Content-Type": "application/json"})
        return httpx.post(self.url(path), content=body, timeout=10, **options)

    @property
    def spool(self) -> Path:
        return self.settings.folder("state") / "spool" / "orders"

    def spooled(self) -> list[Path]:
        return sorted(p for p in self.spool.glob("*") if not p.name.startswith("."))

    def rejected(self) -> list[Path]:
        folder = self.settings.folder("archive") / "orders" / "rejected"
        return sorted(folder.glob("*")) if folder.is_dir() else []

    @contextmanager
    def book(self) -> Iterator[OrderBook]:
        book = OrderBook(self.settings.folder("state") / "ledger.sqlite")
        try:
            yield book
        finally:
            book.close()

    def variants(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.settings.folder("state") / "ledger.sqlite") as db:
            return list(db.execute("SELECT ref, sha256 FROM order_variants"))


def receiver_settings(tmp_path: Path, **receiver: Any) -> Settings:
    base = settings_for(tmp_path / "home", LocalStoreSettings(root=tmp_path / "erp"))
    config = ReceiverSettings(
        username=USER, password=SecretStr(PASSWORD), max_body_bytes=LIMIT, **receiver
    )
    return base.model_copy(update={"receiver": config})


def bound_socket() -> socket.socket:
    """A loopback socket with a port, not yet listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(settings: Settings, sock: socket.socket) -> Iterator[None]:
    """Run ReceiverApp under uvicorn on `sock` in a thread, until the block ends."""
    config = uvicorn.Config(ReceiverApp(settings), lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running(settings: Settings) -> Iterator[Receiver]:
    sock = bound_socket()
    with serving(settings, sock):
        yield Receiver(settings, sock.getsockname()[1])


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

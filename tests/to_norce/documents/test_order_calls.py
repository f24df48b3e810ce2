"""The Order service edge: one post per call, answers sorted, nothing repeated that may have landed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import NorceSettings
from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.client import NorceClient
from etl.norce.order_calls import (
    FileOrderService,
    HttpOrderService,
    OrderCall,
    file_stem,
    judge,
)
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin

STATUS = OrderCall(
    "Order/SendOrderStatus",
    {"ClientOrderRef": 1234567, "ErpOrderNo": "SO-100045", "OrderStatus": "Confirmed"},
    "order_status-SO-100045 / 10",
)


@pytest.fixture
def client(norce: NorceStandin) -> Iterator[NorceClient]:
    with NorceClient(norce.settings(max_attempts=3), sleep=lambda s: None) as c:
        yield c


def test_a_status_is_posted_once_as_json_and_lands(
    norce: NorceStandin, orders: OrderStandin, client: NorceClient
) -> None:
    orders.add_order(1234567)

    answer = HttpOrderService(client).send(STATUS, "order_status")

    assert answer.outcome == "sent"
    assert answer.location == f"{norce.base_url}/commerce/connect/4.0/Order/SendOrderStatus"
    assert [c.body for c in orders.calls] == [dict(STATUS.body)]
    assert orders.order(1234567).status == "Confirmed"


def test_an_unknown_order_is_waiting_and_a_bad_body_is_refused_with_norces_message(
    orders: OrderStandin, client: NorceClient
) -> None:
    service = HttpOrderService(client)

    waiting = service.send(STATUS, "order_status")
    orders.add_order(1234567)
    refused = service.send(
        OrderCall(STATUS.method, {**STATUS.body, "OrderStatus": "Shipped"}, "x"), "order_status"
    )

    assert (waiting.outcome, waiting.message) == (
        "waiting",
        "Order not found (ClientOrderRef 1234567)",
    )
    assert (refused.outcome, refused.status) == ("refused", 400)
    assert refused.message == "OrderStatus 'Shipped' is not an OrderStatus value"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_answer_that_may_follow_processing_is_never_retried(
    norce: NorceStandin, orders: OrderStandin, client: NorceClient, status: int
) -> None:
    orders.add_order(1234567)
    norce.fail_next(1, status=status, path="Order/SendOrderStatus")

    with pytest.raises(NorceUnavailable, match="may or may not have been processed"):
        HttpOrderService(client).send(STATUS, "order_status")

    assert norce.hits("Order/SendOrderStatus") == 1


def test_a_rate_limit_and_an_expired_token_are_retried_they_prove_nothing_landed(
    norce: NorceStandin, orders: OrderStandin, client: NorceClient
) -> None:
    orders.add_order(1234567)
    HttpOrderService(client).send(STATUS, "order_status")  # fetches a token
    norce.expire_tokens()
    norce.fail_next(1, status=429, retry_after=0, path="Order/SendOrderStatus")

    answer = HttpOrderService(client).send(STATUS, "order_status")

    assert answer.outcome == "sent"
    assert norce.hits("Order/SendOrderStatus") == 4  # sent, 429, 401, sent
    assert len(orders.calls) == 2


def test_refusals_that_are_about_the_setup_fail_the_run_instead(norce: NorceStandin) -> None:
    wrong_path = NorceRejected("Norce refused x: HTTP 404", status=404, detail="no such endpoint")
    no_rights = NorceRejected("Norce refused x: HTTP 403", status=403, detail="Order not found")
    order_404 = NorceRejected("Norce refused x: HTTP 404", status=404, detail="Order 7 not found")

    for exc in (wrong_path, no_rights):
        with pytest.raises(NorceRejected):
            judge(exc)
    assert judge(order_404).outcome == "waiting"
    assert judge(NorceRejected("x", status=400, detail="InvoiceNo 1 already exists")).outcome == (
        "refused"
    )


def test_file_mode_writes_the_call_as_it_would_be_posted(tmp_path: Path) -> None:
    service = FileOrderService(tmp_path / "outbox", NorceSettings())

    answer = service.send(STATUS, "order_status")

    stem = file_stem(STATUS.name)
    folder = tmp_path / "outbox" / "norce" / "order_status"
    assert answer.outcome == "sent" and answer.location == str(folder / f"{stem}.json")
    assert json.loads((folder / f"{stem}.json").read_text()) == STATUS.body
    request = json.loads((folder / f"{stem}.request.json").read_text())
    assert request["path"] == "/commerce/connect/4.0/Order/SendOrderStatus"
    assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.json", f"{stem}.request.json"]


def test_file_names_are_safe_and_distinct() -> None:
    assert file_stem("invoice-INV-5566") == "invoice-INV-5566"
    assert file_stem("order_status-SO-1 / 10").startswith("order_status-SO-1_10-")
    assert file_stem("order_status-SO-1 / 10") != file_stem("order_status-SO-1_10")
    assert file_stem("../../etc").startswith("etc-")

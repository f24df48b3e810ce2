"""An order body in: spooled durably, recorded once, held when it fails a check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from etl.config.settings import OrderSettings
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from tests.support.orders import minimal_order

NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def inbound(tmp_path: Path) -> OrderInbound:
    book = OrderBook(tmp_path / "state" / "ledger.sqlite")
    spool = Spool(tmp_path / "state" / "spool" / "orders")
    return OrderInbound(book, spool, tmp_path / "rejected", OrderSettings(), lambda: NOW)


def post(inbound: OrderInbound, body: dict[str, Any]) -> dict[str, Any]:
    answer = inbound.accept(json.dumps(body).encode(), "application/json", "push")
    assert answer.status == 200, answer.body
    return answer.body


def test_a_new_order_is_spooled_and_booked_before_ok(inbound: OrderInbound) -> None:
    body = json.dumps(minimal_order()).encode()
    answer = inbound.accept(body, "application/json; charset=utf-8", "push")
    assert answer.body == {
        "StatusCode": "OK",
        "Description": "queued",
        "HasErpOrderNo": False,
        "ErpOrderNo": None,
    }
    row = inbound.book.order("1234567")
    assert row is not None and row.state == "spooled" and row.source == "push"
    assert inbound.spool.read(row.spool_name) == body


def test_a_retry_answers_ok_and_writes_nothing_new(inbound: OrderInbound) -> None:
    post(inbound, minimal_order())
    files = sorted(inbound.spool.folder.iterdir())
    assert post(inbound, minimal_order())["Description"] == "already received"
    assert sorted(inbound.spool.folder.iterdir()) == files
    assert len(inbound.book.orders()) == 1


def test_different_content_under_a_known_ref_is_kept_but_not_taken(inbound: OrderInbound) -> None:
    post(inbound, minimal_order())
    answer = post(inbound, minimal_order(CustomerOrderRef="PO-2"))
    assert "different content" in answer["Description"]
    row = inbound.book.order("1234567")
    assert row is not None
    assert json.loads(inbound.spool.read(row.spool_name)).get("CustomerOrderRef") is None
    assert len(list(inbound.spool.folder.iterdir())) == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"DoHold": True}, "DoHold"),
        ({"CurrencyCode": "XYZ"}, "currency 'XYZ'"),
        ({"Items": []}, "no order lines"),
        ({"Items": [{"LineNo": 1, "PartNo": "A", "Quantity": -1, "UnitPrice": "1"}]}, "negative"),
        ({"Items": [{"LineNo": 1, "Quantity": 1, "UnitPrice": "1"}]}, "no PartNo"),
    ],
)
def test_an_order_failing_a_check_is_held_with_its_reason(
    inbound: OrderInbound, changes: dict[str, Any], reason: str
) -> None:
    assert post(inbound, minimal_order(**changes))["StatusCode"] == "OK"
    row = inbound.book.order("1234567")
    assert row is not None and row.state == "held"
    assert row.reason is not None and reason in row.reason
    assert inbound.book.due("erp_csv", 10) == []


def test_a_malformed_body_is_refused_and_kept_with_its_reason(
    inbound: OrderInbound, tmp_path: Path
) -> None:
    answer = inbound.accept(b'{"ClientOrderRef": "1", "Items": [', "application/json", "push")
    assert answer.status == 400 and answer.body["StatusCode"] == "Failed"
    assert "not JSON" in answer.body["Description"]
    kept = sorted((tmp_path / "rejected").iterdir())
    assert [p.suffix for p in kept] == [".json", ".txt"]
    assert kept[0].read_bytes() == b'{"ClientOrderRef": "1", "Items": ['
    assert inbound.book.orders() == []


def test_a_body_without_a_ref_names_the_missing_field(inbound: OrderInbound) -> None:
    answer = inbound.accept(json.dumps({"CurrencyCode": "SEK"}).encode(), "application/json", "x")
    assert answer.status == 400
    assert "ClientOrderRef" in answer.body["Description"]


def test_a_ref_that_looks_like_a_path_stays_in_the_spool(inbound: OrderInbound) -> None:
    post(inbound, minimal_order(ref="../../etc/passwd"))
    (spooled,) = inbound.spool.folder.iterdir()
    assert spooled.parent == inbound.spool.folder
    assert ".." not in spooled.name.split("-")[0].split("/")


def test_a_spooled_body_the_book_missed_is_recovered(inbound: OrderInbound) -> None:
    body = json.dumps(minimal_order("777")).encode()
    inbound.spool.put("777", body, "json")  # the process died before the book row
    assert inbound.recover() == 1
    row = inbound.book.order("777")
    assert row is not None and row.source == "recovered" and row.state == "spooled"
    assert inbound.recover() == 0


def test_xml_bodies_use_datacontract_lists_and_any_casing(inbound: OrderInbound) -> None:
    xml = b"""<?xml version="1.0" encoding="utf-8"?>
<OrderRequest xmlns="http://schemas.enferno.se/StormConnect/Contracts"
              xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <clientOrderRef>4711</clientOrderRef>
  <CurrencyCode>SEK</CurrencyCode>
  <ErpOrderNo i:nil="true"/>
  <Items>
    <OrderItem><LineNo>1</LineNo><PartNo>100123</PartNo><Quantity>2</Quantity>
      <UnitPrice>79.20</UnitPrice></OrderItem>
    <OrderItem><LineNo>2</LineNo><PartNo>200</PartNo><Quantity>1</Quantity>
      <UnitPrice>5</UnitPrice></OrderItem>
  </Items>
  <AdditionalInfo><CodeValue><Code2>GiftMessage</Code2><Value>Grattis</Value></CodeValue>
  </AdditionalInfo>
</OrderRequest>"""
    answer = inbound.accept(xml, "application/xml", "push")
    assert answer.status == 200, answer.body
    row = inbound.book.order("4711")
    assert row is not None and row.kind == "xml" and row.state == "spooled"


def test_xml_with_an_entity_declaration_is_refused(inbound: OrderInbound) -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><OrderRequest><ClientOrderRef>&b;</ClientOrderRef>
</OrderRequest>"""
    answer = inbound.accept(bomb, "text/xml", "push")
    assert answer.status == 400 and "DOCTYPE" in answer.body["Description"]
    assert inbound.book.orders() == []


def test_recovery_passes_over_a_torn_body_and_the_retry_books_it(
    inbound: OrderInbound, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # The spool writes a new body under its own name: a crash halfway leaves part of it
    # there, never answered OK. Recovery must not take it (nor keep it as a refused body);
    # the sender's retry replaces it and is booked.
    body = json.dumps(minimal_order("778")).encode()
    spooled = inbound.spool.put("778", body, "json")
    assert spooled.path is not None
    spooled.path.write_bytes(body[: len(body) // 2])

    assert inbound.recover() == 0
    assert inbound.book.order("778") is None
    rejected = tmp_path / "rejected"
    assert not (rejected.exists() and any(rejected.iterdir()))
    assert "not whole" in caplog.text

    assert post(inbound, minimal_order("778"))["Description"] == "queued"
    assert inbound.spool.read(spooled.name) == body

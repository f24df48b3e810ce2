"""poll_orders against the stand-in's Query over loopback, with the real spool, book and ledger."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, OrderSettings, Settings
from etl.errors import NorceUnavailable
from etl.norce.query import ORDERS, QueryClient
from etl.state.ledger.watermarks import Watermarks
from etl.to_erp.orders.bodies import parse_order
from etl.to_erp.orders.inbound import OrderInbound, open_inbound
from etl.to_erp.orders.poll import PollSummary, poll_orders, watermark_name
from tests.support.masterdata import settings_for
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin, query_order

APP = 1042
NOW = dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC)
MARK = watermark_name(APP)


@dataclass
class Poller:
    """Everything one poll needs, wired the way production wires it."""

    settings: Settings
    store: QueryStandin
    inbound: OrderInbound
    query: QueryClient
    watermarks: Watermarks
    sleeps: list[float]

    def run(self) -> PollSummary:
        return poll_orders(self.settings, self.inbound, self.query, self.watermarks, lambda: NOW)

    def spooled(self) -> list[Path]:
        return sorted(self.settings.folder("state").joinpath("spool", "orders").glob("*.json"))

    def filters(self) -> list[str]:
        return [r.options["$filter"] for r in self.store.requests_for(ORDERS)]


@pytest.fixture
def poller(tmp_path: Path, norce: NorceStandin) -> Iterator[Poller]:
    base = settings_for(
        tmp_path / "home",
        LocalStoreSettings(root=tmp_path / "erp"),
        norce.settings(application_id=APP),
    )
    settings = base.model_copy(update={"orders": OrderSettings(source="poll", poll_page_size=2)})
    store = QueryStandin(norce, application_id=APP)
    sleeps: list[float] = []
    inbound = open_inbound(settings)
    watermarks = Watermarks(settings.folder("state") / "ledger.sqlite")
    with QueryClient(settings.norce, settings.orders.query_path, sleep=sleeps.append) as query:
        yield Poller(settings, store, inbound, query, watermarks, sleeps)
    inbound.book.close()
    watermarks.close()


def add_five(store: QueryStandin) -> None:
    """Five orders worth taking (three pages of two), and two that are not."""
    for n in range(5):
        updated, status = f"2026-01-02T0{n}:00:00Z", n % 2 * 2  # Created (0) and Confirmed (2)
        store.add_order(query_order(1001 + n, updated=updated, status_id=status))
    store.add_order(query_order(2001, updated="2026-01-02T09:00:00Z", status_id=4))  # delivered
    store.add_order(query_order(3001, updated="2026-01-02T09:00:00Z", application_id=77))


def test_three_pages_are_read_and_each_order_spooled_once(poller: Poller) -> None:
    add_five(poller.store)
    summary = poller.run()
    assert (summary.pages, summary.read, summary.spooled, summary.known) == (3, 5, 5, 0)
    assert len(poller.spooled()) == 5
    rows = poller.inbound.book.orders()
    assert sorted(r.ref for r in rows) == ["1001", "1002", "1003", "1004", "1005"]
    assert {r.source for r in rows} == {"poll"} and {r.state for r in rows} == {"spooled"}
    assert summary.watermark == dt.datetime(2026, 1, 2, 4, tzinfo=dt.UTC)
    assert poller.watermarks.get(MARK) == summary.watermark
    first = poller.store.requests_for(ORDERS)[0].options
    assert first == {
        "$filter": f"ApplicationId eq {APP} and (StatusId eq 0 or StatusId eq 2)",
        "$expand": "Items,Buyer,Payer,ShipTo,Infos",
        "$orderby": "Updated,Id",
        "$top": "2",
    }


def test_a_second_poll_rereads_the_safety_lap_and_spools_nothing_new(poller: Poller) -> None:
    add_five(poller.store)
    poller.run()
    again = poller.run()
    # Watermark 04:00 less the 3-hour lap: 01:00, so 02:00, 03:00 and 04:00 are read again.
    assert poller.filters()[-1].endswith(
        "(Updated gt 2026-01-02T01:00:00Z or (Updated eq null and Created gt 2026-01-02T01:00:00Z))"
    )
    assert (again.read, again.known, again.spooled) == (3, 3, 0)
    assert len(poller.spooled()) == 5
    assert again.watermark == dt.datetime(2026, 1, 2, 4, tzinfo=dt.UTC)


def test_an_order_changed_in_norce_is_not_taken_twice_and_a_new_one_is(poller: Poller) -> None:
    add_five(poller.store)
    poller.run()
    poller.store.update_order(501001, StatusId=2, Updated="2026-01-02T05:00:00Z")
    poller.store.add_order(query_order(1006, updated="2026-01-02T06:00:00Z"))
    summary = poller.run()
    assert (summary.spooled, summary.known) == (1, 4)  # 1002-1004 in the lap, 1001 changed
    assert len(poller.spooled()) == 6
    assert poller.inbound.book.order("1006") is not None
    assert summary.watermark == dt.datetime(2026, 1, 2, 6, tzinfo=dt.UTC)


def test_a_pushed_order_found_by_the_poll_is_known_not_a_conflict(poller: Poller) -> None:
    pushed = {"ClientOrderRef": "1001", "CurrencyCode": "SEK",
              "Items": [{"LineNo": 1, "PartNo": "100123", "Quantity": 2}]}  # fmt: skip
    poller.inbound.accept(json.dumps(pushed).encode(), "application/json", "push")
    add_five(poller.store)
    summary = poller.run()
    assert (summary.known, summary.spooled) == (1, 4)
    row = poller.inbound.book.order("1001")
    assert row is not None and row.source == "push"


def test_a_429_on_page_2_is_retried_after_retry_after(poller: Poller, norce: NorceStandin) -> None:
    add_five(poller.store)
    norce.fail_next(1, status=503, path="Orders/Orders")  # the stand-in's own faults: page 1
    poller.store.fail_page(2, status=429, retry_after=4)
    summary = poller.run()
    assert summary.spooled == 5
    assert 4.0 in poller.sleeps and len(poller.sleeps) == 2
    assert len(poller.store.requests_for(ORDERS)) == 4  # 3 pages, page 2 twice


def test_the_watermark_moves_only_after_a_whole_run(poller: Poller) -> None:
    add_five(poller.store)
    poller.store.fail_page(2, count=3, status=503)  # every attempt the settings allow
    with pytest.raises(NorceUnavailable, match=r"Query Orders/Orders page 2 after 3 attempts"):
        poller.run()
    assert poller.watermarks.get(MARK) is None
    assert len(poller.spooled()) == 2  # page 1 was taken in, and stays

    summary = poller.run()  # the next run reads from the same place and gets everything
    assert "Updated gt" not in poller.filters()[-1]
    assert (summary.read, summary.known, summary.spooled) == (5, 2, 3)
    assert poller.watermarks.get(MARK) == dt.datetime(2026, 1, 2, 4, tzinfo=dt.UTC)


def test_a_query_order_becomes_the_order_request_norce_would_push(poller: Poller) -> None:
    poller.store.add_order(query_order(1001, updated=None, created="2026-01-02T07:30:00Z",
                                       InvoiceMark="INV-REF", OrderFee=29))  # fmt: skip
    summary = poller.run()
    assert summary.watermark == dt.datetime(2026, 1, 2, 7, 30, tzinfo=dt.UTC)  # from Created
    (path,) = poller.spooled()
    order = parse_order(path.read_bytes(), "json")
    assert order.client_order_ref == "1001" and order.erp_order_no is None
    assert order.currency_code == "SEK" and order.source == "WEB"
    assert order.customer_order_ref == "PO-77" and order.customer_invoice_ref == "INV-REF"
    assert order.sell_to is not None and order.sell_to.person is not None
    assert order.sell_to.person.email == "anna@example.com"
    assert order.sell_to.person.customer_code == "C-000123"
    assert order.ship_to is not None and order.ship_to.person is not None
    assert order.ship_to.person.address is not None
    assert order.ship_to.person.address.country == "SE"
    assert order.shipping_advice is not None
    assert order.shipping_advice.delivery_method_code == "POSTNORD"
    assert order.payments[0].payment_method_code == "KLARNA"
    assert [(f.type, str(f.amount)) for f in order.fees] == [(1, "29")]
    first, freight = order.items
    assert (first.line_no, first.part_no, str(first.quantity)) == (1, "100123", "2")
    assert (str(first.unit_price), str(first.vat_rate)) == ("79.2", "25")
    assert freight.part_no == "FREIGHT"
    assert order.additional_info[0].value == "Ring on arrival"
    assert json.loads(path.read_bytes())["NorceOrderId"] == 501001


def test_polled_names_and_phones_come_from_query_address_names(poller: Poller) -> None:
    # [C] Query 2.0 Buyer/ShipTo have Name, Attention, Line1, EmailAddress, PhoneNumber.
    poller.store.add_order(query_order(1001, updated="2026-01-01T10:00:00Z"))
    poller.run()
    (path,) = poller.spooled()
    order = parse_order(path.read_bytes(), "json")
    assert order.sell_to is not None and order.sell_to.person is not None
    buyer = order.sell_to.person
    assert (buyer.last_name, buyer.private_phone) == ("Anna Andersson", "+46701234567")
    assert order.ship_to is not None and order.ship_to.person is not None
    assert order.ship_to.person.last_name == "Anna Andersson"  # Attention: the person
    assert order.ship_to.company is not None
    assert order.ship_to.company.name == "Andersson Bygg AB"  # Name beside an Attention
    assert order.ship_to.person.address is not None
    assert order.ship_to.person.address.line1 == "Storgatan 1"


def test_a_discounted_line_gets_its_unit_price_after_discount(poller: Poller) -> None:
    line = {
        "LineNumber": 1,
        "PartNo": "300",
        "ExternalPartNo": "ERP-300",
        "QtyOrdered": 3,
        "PriceSale": 100.0,
        "DiscountAmount": 30.0,
        "LineAmount": 270.0,
        "VatRate": 25,
    }
    poller.store.add_order(query_order(1001, updated="2026-01-02T01:00:00Z", items=[line],
                                       OrderNo="ERP-1001"))  # fmt: skip
    poller.run()
    (path,) = poller.spooled()
    order = parse_order(path.read_bytes(), "json")
    (item,) = order.items
    assert (item.part_no, item.erp_part_no) == ("300", "ERP-300")
    assert (str(item.unit_price), str(item.unit_price_original), str(item.discount)) == (
        "90", "100", "30",
    )  # fmt: skip
    assert (order.client_order_ref, order.erp_order_no) == ("1001", "ERP-1001")


def test_an_order_in_a_currency_the_shop_does_not_sell_is_held(poller: Poller) -> None:
    poller.store.add_order(query_order(1001, updated="2026-01-02T01:00:00Z", currency_id=4))
    poller.store.add_order(query_order(1002, updated="2026-01-02T02:00:00Z", currency_id=99))
    summary = poller.run()
    assert (summary.spooled, summary.held) == (2, 2)
    xts, unknown = poller.inbound.book.order("1001"), poller.inbound.book.order("1002")
    assert xts is not None and xts.state == "held" and "'XTS'" in (xts.reason or "")
    assert unknown is not None and "no CurrencyCode" in (unknown.reason or "")


def test_no_orders_no_lookups_and_no_watermark(poller: Poller) -> None:
    summary = poller.run()
    assert (summary.pages, summary.read, summary.watermark) == (1, 0, None)
    assert poller.store.requests_for("Core/Currencies") == []

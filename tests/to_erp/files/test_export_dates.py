"""An order Norce sent without SubmitDate is dated by when it reached us, in the real export."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from etl.config.settings import OrderSettings
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import LocalStore
from tests.fixtures.orders import sample_body, settings_at
from tests.support.clock import NOW

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def test_an_undated_order_gets_the_received_day_as_its_issue_date(tmp_path: Path) -> None:
    settings = settings_at(tmp_path)
    body = json.loads(sample_body("order_1001"))
    body.pop("SubmitDate")
    book = OrderBook(tmp_path / "state" / "ledger.sqlite")
    spool = Spool(tmp_path / "state" / "spool" / "orders")
    inbound = OrderInbound(book, spool, tmp_path / "rejected", OrderSettings(), lambda: NOW)
    assert inbound.accept(json.dumps(body).encode(), "application/json", "push").status == 200
    layout = load_layouts(settings)["peppol_order"]

    with LocalStore("erp", settings.stores["erp"]) as store:  # type: ignore[arg-type]
        export_orders(settings, book, spool, store, layout, lambda: NOW)
    book.close()

    [written] = (tmp_path / "erp").rglob("*.xml")
    root = etree.fromstring(written.read_bytes())
    assert root.findtext(f"{{{CBC}}}IssueDate") == NOW.date().isoformat()

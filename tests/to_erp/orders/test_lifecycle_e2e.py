"""One order's whole life with the real parts (issue 5, Proof, first point).

Norce (the stand-in) knows an order and pushes its OrderRequest to our receiver under a real
uvicorn server. `run.py once` (in this process, through `etl.cli.main`) exports it to the
ERP's real SFTP server in both shipped layouts. The ERP then drops, one after the other as
it works the order, an acknowledgement, a delivery note with two parcels, two part invoices
(freight on the first) and a credit, each in its shipped document contract; every drop is
followed by a `once`, as the scheduler would run it. The Norce Order service must receive
exactly five calls, in lifecycle order, once each. A second round (Norce pushes again, the
ERP drops every file again and exports the credit once more, `once`) sends and uploads
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.readback import read_back
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.model import OrderRequest
from tests.support.documents import APPLICATION_ID
from tests.support.lifecycle import (
    ERP_NO,
    ORDER,
    RECEIVER_PASSWORD,
    RECEIVER_USER,
    REF,
    Installation,
)
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin
from tests.support.order_pusher import push_order
from tests.support.receiver import running
from tests.support.sftp_server import SftpServerInfo

# ---------------------------------------------------------------- the ERP's documents


def status_file() -> tuple[str, bytes]:
    """The acknowledgement: ERP status 10 (Confirmed in the contract's map), cp1252."""
    text = (
        "Ordernr;Webbordernr;Status;Statustid;Kommentar\r\n"
        f"{ERP_NO};{REF};10;2026-11-22 09:12;Bekräftad\r\n"
    )
    return "order_status/orderstatus_20261122.csv", text.encode("cp1252")


def delivery_note_file() -> tuple[str, bytes]:
    """One note for the whole order, in two parcels; it names the ERP's order number."""
    head = f"DN-300001,{ERP_NO},2026-11-24,POSTNORD,Örjan Ek,Sjövägen 3,18230,Danderyd,SE"
    text = (
        "NoteNo,OrderNo,ShipDate,Carrier,ShipToName,ShipToStreet,ShipToZip,ShipToCity,"
        "ShipToCountry,LineNo,ItemNo,ItemText,Qty,ParcelNo\n"
        f"{head},1,100123,Arbetshandske L,2,00370712345678900011\n"
        f"{head},2,100200,Pannlampa 300 lm,1,00370712345678900028\n"
    )
    return "delivery_notes/despatch_20261124.csv", text.encode("utf-8")


UBL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
         xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2">
  <ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent>
    <erp:InvoiceInfo xmlns:erp="urn:example:erp:invoice-info">
      <erp:LastInvoiceForOrder>{last}</erp:LastInvoiceForOrder>
    </erp:InvoiceInfo>
  </ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>{day}</cbc:IssueDate>
  <cbc:DueDate>2026-12-31</cbc:DueDate>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>{ref}</cbc:ID><cbc:SalesOrderID>{erp}</cbc:SalesOrderID></cac:OrderReference>
  <cac:Delivery><cbc:ActualDeliveryDate>{day}</cbc:ActualDeliveryDate></cac:Delivery>
  <cac:LegalMonetaryTotal>
    <cbc:PayableRoundingAmount currencyID="SEK">0.00</cbc:PayableRoundingAmount>
    <cbc:PayableAmount currencyID="SEK">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
{lines}</Invoice>
"""
UBL_LINE = """  <cac:InvoiceLine>
    <cbc:ID>{no}</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">{qty}</cbc:InvoicedQuantity>
    <cac:Item>
      <cbc:Name>{name}</cbc:Name>
      <cac:SellersItemIdentification><cbc:ID>{part}</cbc:ID></cac:SellersItemIdentification>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">{price}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
"""


def invoice_file(
    number: str, day: str, last: int, total: str, lines: list[tuple[str, str, int, str]]
) -> tuple[str, bytes]:
    """A UBL invoice naming the order both ways; lines are (part, name, quantity, price)."""
    body = "".join(
        UBL_LINE.format(no=n, part=part, name=name, qty=qty, price=price)
        for n, (part, name, qty, price) in enumerate(lines, start=1)
    )
    text = UBL.format(
        number=number, day=day, last=last, total=total, ref=REF, erp=ERP_NO, lines=body
    )
    return f"invoices/invoice_{number}.xml", text.encode("utf-8")


def first_invoice() -> tuple[str, bytes]:
    """The gloves and the freight: not the last invoice of the order."""
    lines = [("100123", "Arbetshandske L", 2, "79.20"), ("FRAKT", "Frakt", 1, "39.20")]
    return invoice_file("INV-600001", "2026-11-24", 0, "247.00", lines)


def second_invoice() -> tuple[str, bytes]:
    """The lamp, later: the last invoice, it closes the payment."""
    return invoice_file(
        "INV-600002", "2026-11-25", 1, "250.00", [("100200", "Pannlampa 300 lm", 1, "200.00")]
    )


def credit_file(folder: Path, day: int = 27) -> tuple[str, bytes]:
    """The lamp came back: a credit of the second invoice, in the ERP's Excel export of `day`."""
    book = openpyxl.Workbook()
    info = book.active
    assert info is not None
    info.title = "Info"
    info.append([f"Kreditfakturor exporterade 2026-11-{day} 06:00"])
    sheet = book.create_sheet("Krediter")
    sheet.append(["Kreditnr", "Krediterad faktura", "Webbordernr", "Ordernr", "Datum", "Valuta",
                  "Rad", "Artikelnr", "Benämning", "Antal", "Pris", "Moms/st", "Moms %"])  # fmt: skip
    sheet.append(["CR-600003", "INV-600002", int(REF), ERP_NO, dt.datetime(2026, 11, 27),
                  "SEK", 1, "100200", "Pannlampa 300 lm (retur)", 1, 200, 50, 25])  # fmt: skip
    path = folder / f"credit-{day}.xlsx"
    book.save(path)
    return f"credits/kreditfakturor_202611{day}.xlsx", path.read_bytes()


def documents(folder: Path) -> list[tuple[str, bytes]]:
    """Every document the ERP sends about the order, in the order it sends them."""
    return [status_file(), delivery_note_file(), first_invoice(), second_invoice(),
            credit_file(folder)]  # fmt: skip


# What Norce must receive, in this order, once each: (method, the document it carried).
LIFECYCLE = [
    ("SendOrderStatus", "Confirmed"),
    ("CreateDeliveryNote", "DN-300001"),
    ("CreateInvoice", "INV-600001"),
    ("CreateInvoice", "INV-600002"),
    ("CreditPayment", "CR-600003"),
]


# ---------------------------------------------------------------- the installation


@pytest.fixture
def erp_root(tmp_path: Path) -> Path:
    """An empty drop folder: only this test's files are on the server (no samples)."""
    root = tmp_path / "erp"
    root.mkdir()
    return root


@pytest.fixture
def installation(
    tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin, monkeypatch: pytest.MonkeyPatch
) -> Installation:
    """The installation, with its secrets in the environment `run.py` reads."""
    setup = Installation(tmp_path, sftp, norce)
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    return setup


def lines_of(order: OrderRequest) -> list[tuple[object, ...]]:
    """What both layouts carry of every line: number, article, text, quantity, price."""
    return [(i.line_no, i.part_no, i.description, i.quantity, i.unit_price) for i in order.items]


def calls_in_order(orders: OrderStandin) -> list[tuple[str, str]]:
    """Every accepted Order-service call as (method, the document it carried)."""
    number = ("InvoiceNo", "NoteNo", "OrderStatus")
    return [
        (c.method.removeprefix("Order/"), next(c.body[k] for k in number if k in c.body))
        for c in orders.calls
    ]


ORDER_PATHS = ("SendOrderStatus", "CreateDeliveryNote", "CreateInvoice", "CreditPayment")


def test_an_order_lives_from_push_to_credit_and_every_step_happens_once(
    installation: Installation,
    norce: NorceStandin,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    world = installation
    orders = OrderStandin(norce, query=QueryStandin(norce, application_id=APPLICATION_ID))
    # Norce creates the order (its number is the ClientOrderRef it pushes), then pushes it.
    orders.add_order(int(REF))
    pushed = OrderRequest.model_validate(ORDER)
    body = json.dumps(ORDER).encode()
    with running(world.settings) as receiver:
        push = push_order(receiver.url(), body, (RECEIVER_USER, RECEIVER_PASSWORD), retries=0)
        assert [a.answer["Description"] for a in push.attempts] == ["queued"]

        # -- Norce -> ERP: one `once` puts the order on the ERP's server in both layouts.
        printed = world.once(capsys)
        assert "orders -> erp_csv: 1 file(s), 1 order(s)" in printed
        assert "orders -> peppol_order: 1 file(s), 1 order(s)" in printed
        csv_files, ubl_files = world.remote("orders/in"), world.remote("orders/ubl")
        [csv_name] = [n for n in csv_files if not n.endswith(".done")]
        assert re.fullmatch(rf"ORDERS_\d{{8}}_{REF}_1\.csv", csv_name)
        assert sorted(csv_files) == [csv_name, f"{csv_name}.done"]
        assert list(ubl_files) == [f"ORDER_{REF}.xml"]
        layouts = load_layouts(world.settings)
        [from_csv] = read_back(layouts["erp_csv"], csv_files[csv_name])
        [from_ubl] = read_back(layouts["peppol_order"], ubl_files[f"ORDER_{REF}.xml"])
        assert from_csv.client_order_ref == from_ubl.client_order_ref == REF
        assert lines_of(from_csv) == lines_of(from_ubl) == lines_of(pushed)
        assert lines_of(pushed)[2] == (3, "FREIGHT", "Frakt", Decimal(1), Decimal("39.2"))
        assert [(i.unit_vat, i.vat_rate) for i in from_csv.items] == [
            (i.unit_vat, i.vat_rate) for i in pushed.items
        ]
        assert [(p.payment_method_code, p.amount) for p in from_csv.payments] == [
            ("KLARNA", Decimal("497.00"))
        ]
        assert orders.calls == []  # exporting the order tells Norce nothing

        # -- ERP -> Norce: the documents, in the order the ERP works the order; each drop is
        # followed by a `once`, which sends that document and nothing else.
        sent = documents(tmp_path)
        for step, document in enumerate(sent, start=1):
            world.drop(*document)
            printed = world.once(capsys)
            feed, name = document[0].split("/")
            [line] = [line for line in printed if line.startswith(f"{feed}: ")]
            assert re.match(rf"{feed}: {name}: committed \(.*\bsent 1\b", line), line
            assert calls_in_order(orders) == LIFECYCLE[:step]

        assert orders.refusals == []
        assert [norce.hits(f"Order/{p}") for p in ORDER_PATHS] == [1, 1, 2, 1]
        status, note, first, second, credit = (c.body for c in orders.calls)
        assert status == {"ClientOrderRef": int(REF), "ErpOrderNo": ERP_NO,
                          "OrderStatus": "Confirmed"}  # fmt: skip
        assert note["OrderNo"] == ERP_NO
        assert [p["ParcelNumber"] for p in note["DeliveryNotePackages"]] == [
            "00370712345678900011",
            "00370712345678900028",
        ]
        assert [(i["ItemNo"], i["Qty"]) for i in note["DeliveryNoteItems"]] == [
            ("100123", 2),
            ("100200", 1),
        ]
        # Freight on the first invoice only; the last one says so and closes the payment.
        assert [i["PartNo"] for i in first["Items"]] == ["100123", "FRAKT"]
        assert [i["PartNo"] for i in second["Items"]] == ["100200"]
        assert (first["IsLastInvoiceForOrder"], second["IsLastInvoiceForOrder"]) == (False, True)
        assert {first["ClientOrderRef"], second["ClientOrderRef"], credit["ClientOrderRef"]} == {
            int(REF)
        }
        assert orders.captures == [("INV-600001", Decimal("247.00")),
                                   ("INV-600002", Decimal("250.00"))]  # fmt: skip
        assert (credit["CreditedInvoiceNo"], credit["Payment"]["Amount"]) == ("INV-600002", 250)
        known = orders.order(int(REF))
        assert (known.erp_order_no, known.status, known.payment_closed) == (
            ERP_NO,
            "Confirmed",
            True,
        )

        # -- Everything again: Norce pushes the same order, the ERP drops every file again
        # (stamped an hour back, so only their content can tell), and exports the credit
        # once more: a new file whose one document was sent already.
        calls, hits = len(orders.calls), norce.hits()
        exported = {f: world.remote(f) for f in ("orders/in", "orders/ubl")}
        again = push_order(receiver.url(), body, (RECEIVER_USER, RECEIVER_PASSWORD), retries=0)
        assert [a.answer["Description"] for a in again.attempts] == ["already received"]
        for document in sent:
            world.drop(*document, hours_ago=1)
        world.drop(*credit_file(tmp_path, day=28))
        printed = world.once(capsys)

    for path, _ in sent:
        feed, name = path.split("/")
        [line] = [line for line in printed if line.startswith(f"{feed}: {name}: ")]
        assert line.startswith(f"{feed}: {name}: duplicate: same content as committed run"), line
    [reexport] = [line for line in printed if "kreditfakturor_20261128.xlsx" in line]
    assert re.search(r": committed \(.*\bsent 0, already_sent 1\b", reexport), reexport
    assert "orders -> erp_csv: 0 file(s), 0 order(s)" in printed
    assert "orders -> peppol_order: 0 file(s), 0 order(s)" in printed
    assert {f: world.remote(f) for f in ("orders/in", "orders/ubl")} == exported
    assert len(orders.calls) == calls == 5
    assert [norce.hits(f"Order/{p}") for p in ORDER_PATHS] == [1, 1, 2, 1]
    assert norce.hits() == hits  # not even a token or a Query lookup
    book = OrderBook(world.home / "state" / "ledger.sqlite")
    try:
        [row] = book.orders()
        assert (row.ref, row.source, row.state) == (REF, "push", "exported")
        assert sorted((e.layout, e.state) for e in book.exports(REF)) == [
            ("erp_csv", "done"),
            ("peppol_order", "done"),
        ]
    finally:
        book.close()

"""End to end with the real parts: the sample documents over SFTP to the Norce stand-in (http)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from etl.commands.document_status import documents_status
from etl.config.settings import NorceSettings
from tests.support.documents import (
    DOCUMENT_FEEDS,
    PAYMENT,
    book,
    make_home,
    receive_order,
    report_rows,
    run,
    settings_for,
)
from tests.support.norce.orders import OrderStandin
from tests.support.sftp_server import SftpServerInfo


def test_sample_documents_reach_norce_over_sftp_once(
    tmp_path: Path,
    sftp: SftpServerInfo,
    erp_root: Path,
    http: NorceSettings,
    orders: OrderStandin,
) -> None:
    orders.add_order(1234567)
    orders.add_order(1234568)
    home = make_home(tmp_path, *DOCUMENT_FEEDS)
    receive_order(home, 1234567, PAYMENT)
    settings = settings_for(home, sftp.settings(), http)

    outcomes = {feed: run(settings, feed) for feed in DOCUMENT_FEEDS}

    assert {f: [o.outcome for o in out] for f, out in outcomes.items()} == {
        "order_status": ["committed"],
        "delivery_notes": ["committed"],
        "invoices": ["committed", "committed"],
        "credits": ["committed"],
    }
    # Acknowledged with the ERP's number, then moved on; status 55 is not in the map.
    assert (orders.order(1234567).status, orders.order(1234567).erp_order_no) == (
        "Delivered",
        "SO-100045",
    )
    assert orders.order(1234568).status == "PartlyDelivered"
    [status_report] = report_rows(outcomes["order_status"][0], home)
    assert (status_report["Line"], status_report["Error code"]) == (6, "enum")
    # Two notes for SO-100046 (a part delivery), parcels per note.
    notes = {n["NoteNo"]: n for n in orders.delivery_notes}
    assert sorted(notes) == ["DN-778899", "DN-778900", "DN-778901"]
    assert [p["ParcelNumber"] for p in notes["DN-778899"]["DeliveryNotePackages"]] == [
        "00370712345678901234",
        "00370712345678901241",
    ]
    # UBL part invoices: freight captured with the first only; the last one closes the payment.
    assert orders.captures == [("INV-5566", Decimal("247.00")), ("INV-5567", Decimal("99.00"))]
    last = orders.invoices["INV-5567"]
    assert last["IsLastInvoiceForOrder"] is True
    assert [i["PartNo"] for i in last["Items"]] == ["100124"]
    assert orders.order(1234567).payment_closed
    # The credit naming its invoice went; the one without CreditedInvoiceNo is reported.
    assert list(orders.credits) == ["CR-9001"]
    [credit_report] = report_rows(outcomes["credits"][0], home)
    assert (credit_report["Field"], credit_report["Error code"]) == (
        "credited_invoice_no",
        "required",
    )
    for folder in ("order_status", "delivery_notes", "invoices", "credits"):
        assert not [p for p in (erp_root / folder).iterdir() if p.is_file()]
        assert list((erp_root / folder / "processed").iterdir())

    calls = len(orders.calls)
    again = {feed: run(settings, feed) for feed in DOCUMENT_FEEDS}

    assert again == {feed: [] for feed in DOCUMENT_FEEDS}
    assert len(orders.calls) == calls == 10
    documents = book(home)
    try:
        assert documents_status(documents).splitlines()[0] == "Documents: sent 10"
    finally:
        documents.close()

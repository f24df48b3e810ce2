"""Each document once: conflicts, waiting for the order, Norce's refusals, and documents in doubt."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from etl.commands.document_status import documents_status
from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import (
    PAYMENT,
    book,
    copy_samples,
    invoice_contract,
    make_home,
    receive_order,
    report_rows,
    run,
    settings_for,
    write_invoices,
)
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.norce.query import QueryStandin

INV_1 = ["INV-1;1001;SO-1;2026-11-20;SEK;1;99.00;1;100123;1;79.20;19.80"]


def _home(tmp_path: Path) -> Path:
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    for ref in (1001, 1002):  # the shop's orders, as the receiver kept them
        receive_order(home, ref, PAYMENT)
    return home


def test_same_number_with_other_content_is_reported_not_sent(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    orders.add_order(1002)
    home = _home(tmp_path)
    settings = settings_for(home, local, http)
    write_invoices(drop, "a.csv", INV_1)
    run(settings, "invoices_csv")
    write_invoices(
        drop, "b.csv", [INV_1[0].replace("99.00;1;100123;1;79.20", "198.00;1;100123;2;79.20")]
    )
    write_invoices(
        drop, "c.csv", [*INV_1, "INV-9;1002;SO-2;2026-11-21;SEK;0;;1;100200;1;10.00;2.50"]
    )

    changed, same = run(settings, "invoices_csv")

    assert changed.counts["conflicts"] == 1 and changed.counts["sent"] == 0
    [row] = report_rows(changed, home)
    assert (row["Line"], row["Error code"]) == (2, "conflict")
    assert "INV-1 was sent to Norce on" in row["What is wrong"]
    assert "credit it and invoice again under a new number" in row["What is wrong"]
    assert same.counts["already_sent"] == 1 and same.counts["sent"] == 1
    assert [c.body["InvoiceNo"] for c in orders.calls] == ["INV-1", "INV-9"]
    assert orders.captures[0] == ("INV-1", Decimal("99.00"))
    documents = book(home)
    try:
        assert [c["doc_no"] for c in documents.conflicts()] == ["INV-1"]
        assert "came again with other content (not sent)" in documents_status(documents)
    finally:
        documents.close()


def test_a_document_for_an_unknown_order_waits_and_goes_once_norce_knows_it(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    home = _home(tmp_path)
    settings = settings_for(home, local, http)
    write_invoices(drop, "a.csv", INV_1)

    [first] = run(settings, "invoices_csv")
    [again] = run(settings, "invoices_csv")

    assert first.outcome == "committed" and first.counts["waiting"] == 1
    assert "1 waiting (`run.py status` says why)" in first.message
    assert (again.name, again.outcome, again.counts) == (
        "(open documents)",
        "waiting",
        {"sent": 0, "waiting": 1},
    )
    assert (drop / "invoices_csv" / "processed" / "a.csv").exists()  # the file is done
    documents = book(home)
    try:
        [waiting] = documents.needing_attention()
        assert (waiting.state, waiting.attempts) == ("waiting", 2)
        assert waiting.message == "Order not found (ClientOrderRef 1001)"
        status = documents_status(documents)
        assert "invoice INV-1" in status and "Order not found" in status and "waiting 1" in status
    finally:
        documents.close()

    orders.add_order(1001)
    [later] = run(settings, "invoices_csv")

    assert (later.name, later.outcome, later.counts) == (
        "(open documents)",
        "committed",
        {"sent": 1},
    )
    assert orders.captures == [("INV-1", Decimal("99.00"))]
    documents = book(home)
    try:
        assert documents.find("invoice", "INV-1").state == "sent"  # type: ignore[union-attr]
        assert documents.needing_attention() == []
    finally:
        documents.close()


def test_a_refusal_goes_to_the_report_with_norces_message(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = _home(tmp_path)
    # INV-1 says it is the order's last invoice: Norce closes the payment, so INV-2 is refused.
    write_invoices(
        drop, "a.csv", [*INV_1, "INV-2;1001;SO-1;2026-11-21;SEK;1;;1;100124;1;79.20;19.80"]
    )

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.counts["sent"] == 1 and outcome.counts["refused"] == 1
    [row] = report_rows(outcome, home)
    assert (row["Line"], row["Error code"]) == (3, "norce_rejected")
    assert row["What is wrong"] == (
        "Norce refused it: the payment of order 1001 was closed by its last invoice"
    )
    write_invoices(drop, "b.csv", ["INV-2;1001;SO-1;2026-11-21;SEK;1;;1;100124;1;79.20;19.80"])
    [same] = run(settings_for(home, local, http), "invoices_csv")
    assert same.counts == {**same.counts, "already_refused": 1, "sent": 0}
    assert len(orders.refusals) == 1  # the same refused content is not posted again


def test_in_doubt_invoice_that_norce_has_is_not_sent_again(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
) -> None:
    orders.add_order(1001)
    home = _home(tmp_path)
    settings = settings_for(home, local, http)
    write_invoices(drop, "a.csv", INV_1)
    # Norce processes the invoice but its answer comes after the client gave up waiting.
    norce.slow_next(1, seconds=http.request_timeout_seconds + 1, path="Order/CreateInvoice")

    [died] = run(settings, "invoices_csv")
    _wait_for(lambda: "INV-1" in orders.invoices)

    assert died.outcome == "failed" and "may or may not have been processed" in died.message
    assert norce.hits("Order/CreateInvoice") == 1  # not retried blindly
    documents = book(home)
    try:
        assert documents.find("invoice", "INV-1").state == "sending"  # type: ignore[union-attr]
    finally:
        documents.close()

    resumed, file_run = run(settings, "invoices_csv")

    assert resumed.counts == {"sent": 0, "found_in_norce": 1}
    assert file_run.counts["already_sent"] == 1
    assert norce.hits("Order/CreateInvoice") == 1
    assert orders.captures == [("INV-1", Decimal("99.00"))]  # captured once


def test_in_doubt_invoice_that_norce_lacks_is_sent_once(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
    query: QueryStandin,
) -> None:
    orders.add_order(1001)
    home = _home(tmp_path)
    settings = settings_for(home, local, http)
    write_invoices(drop, "a.csv", INV_1)
    norce.fail_next(1, status=502, path="Order/CreateInvoice")  # refused before processing

    [died] = run(settings, "invoices_csv")
    resumed, file_run = run(settings, "invoices_csv")

    assert died.outcome == "failed"
    assert len(query.requests_for("Orders/Invoices")) == 1  # looked up before sending again
    assert resumed.counts == {"sent": 1}
    assert file_run.counts["already_sent"] == 1
    assert orders.captures == [("INV-1", Decimal("99.00"))]


def test_in_doubt_status_that_norce_already_shows_is_not_sent_again(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
) -> None:
    orders.add_order(1234567)
    orders.add_order(1234568)
    copy_samples(drop, "order_status")
    home = make_home(tmp_path, "order_status")
    settings = settings_for(home, local, http)
    norce.slow_next(1, seconds=http.request_timeout_seconds + 1, path="Order/SendOrderStatus")

    [died] = run(settings, "order_status")
    _wait_for(lambda: orders.order(1234567).status == "Confirmed")
    resumed, file_run = run(settings, "order_status")

    assert died.outcome == "failed"
    assert resumed.counts == {"sent": 0, "found_in_norce": 1}
    assert file_run.counts["sent"] == 3 and file_run.counts["already_sent"] == 1
    assert norce.hits("Order/SendOrderStatus") == 4  # the in-doubt one was not posted again
    assert orders.order(1234567).status == "Delivered"
    assert orders.order(1234568).erp_order_no == "SO-100046"


def test_in_doubt_delivery_note_is_sent_again_the_documented_residual_risk(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
) -> None:
    orders.add_order(1234567, "SO-100045")
    orders.add_order(1234568, "SO-100046")
    copy_samples(drop, "delivery_notes")
    home = make_home(tmp_path, "delivery_notes")
    settings = settings_for(home, local, http)
    norce.slow_next(1, seconds=http.request_timeout_seconds + 1, path="Order/CreateDeliveryNote")

    run(settings, "delivery_notes")
    _wait_for(lambda: len(orders.delivery_notes) == 1)
    run(settings, "delivery_notes")

    # Query is not asked about notes: the one in doubt goes again (no money moves on a note).
    numbers = [n["NoteNo"] for n in orders.delivery_notes]
    assert numbers == ["DN-778899", "DN-778899", "DN-778900", "DN-778901"]


def test_a_credit_waits_for_the_invoice_it_credits(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    copy_samples(drop, "invoices", "credits")
    home = make_home(tmp_path, "invoices", "credits")
    receive_order(home, 1234567, PAYMENT)
    settings = settings_for(home, local, http)
    run(settings, "invoices")  # order 1234567 unknown: both invoices wait

    [credits] = run(settings, "credits")
    assert credits.counts["waiting"] == 1
    orders.add_order(1234567, "SO-100045")
    run(settings, "invoices")
    [credits] = run(settings, "credits")

    assert credits.counts == {"sent": 1}
    assert list(orders.credits) == ["CR-9001"]
    assert [c.method for c in orders.calls] == [
        "Order/CreateInvoice",
        "Order/CreateInvoice",
        "Order/CreditPayment",
    ]


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("the stand-in never got there")


def test_a_corrected_version_of_a_refused_document_is_a_new_attempt(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
) -> None:
    orders.add_order(1001)
    home = _home(tmp_path)
    settings = settings_for(home, local, http)
    norce.fail_next(1, status=400, path="Order/CreateInvoice")
    write_invoices(drop, "a.csv", INV_1)
    [refused] = run(settings, "invoices_csv")
    write_invoices(drop, "b.csv", [INV_1[0].replace("2026-11-20", "2026-11-21")])

    [corrected] = run(settings, "invoices_csv")

    assert refused.counts["refused"] == 1
    assert report_rows(refused, home)[0]["What is wrong"] == "Norce refused it: injected 400"
    assert corrected.counts == {**corrected.counts, "sent": 1}
    assert orders.invoices["INV-1"]["InvoiceDate"] == "2026-11-21T00:00:00"

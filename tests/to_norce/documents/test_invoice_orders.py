"""Invoices and credits name their order by both numbers and carry a payment Norce can capture."""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import LocalStoreSettings, NorceSettings
from etl.to_norce.documents.book import DocumentBook
from tests.support.documents import (
    PAYMENT,
    book,
    invoice_contract,
    make_home,
    manifest,
    receive_order,
    run,
    settings_for,
    write_invoices,
    write_statuses,
)
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin

INV_1 = "INV-1;1001;SO-1;2026-11-20;SEK;1;99.00;1;100123;1;79.20;19.80"
ACK_1 = "SO-1;1001;10;2026-11-20 09:12;"

CREDIT_CSV = """\
[feed]
name = "credits_csv"
entity = "credit"

[source]
store = "erp"
folder = "credits_csv"
pattern = "*.csv"
ready = "stable"
stable_seconds = 0

[format]
type = "csv"
delimiter = ";"

[columns]
"Credit" = "invoice_no"
"Credited" = "credited_invoice_no"
"Order" = "client_order_ref"
"ErpOrder" = "erp_order_no"
"Date" = "invoice_date"
"Currency" = "currency"
"Line" = "line_no"
"Part" = "part_no"
"Qty" = "quantity"
"Price" = "unit_price"
"Vat" = "unit_vat"
"""
CREDIT_HEADER = "Credit;Credited;Order;ErpOrder;Date;Currency;Line;Part;Qty;Price;Vat"
# An export that names the payment itself, in two more columns.
PAYING_CSV = invoice_contract().replace(
    '"Vat" = "unit_vat"\n',
    '"Vat" = "unit_vat"\n"PayRef" = "payment_ref"\n"PayCode" = "payment_code"\n',
)


def _home(tmp_path: Path, *shipped: str) -> Path:
    extra = {"invoices_csv": invoice_contract(), "credits_csv": CREDIT_CSV}
    return make_home(tmp_path, *shipped, extra=extra)


def test_the_payment_is_taken_from_the_order_as_received(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001, "SO-1")
    home = _home(tmp_path)
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "a.csv", [INV_1])

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.counts["sent"] == 1
    assert orders.invoices["INV-1"]["Payment"] == {
        "PaymentCode": 98765,
        "PaymentRef": "psp-abc",
        "PaymentMethodCode": "KLARNA",
        "Amount": 99,
        "CurrencyCode": "SEK",
    }


def test_a_payment_the_erp_file_names_is_sent_as_named(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001, "SO-1")
    home = make_home(tmp_path, extra={"invoices_csv": PAYING_CSV})
    folder = drop / "invoices_csv"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "Invoice;Order;ErpOrder;Date;Currency;Last;Total;Line;Part;Qty;Price;Vat;PayRef;PayCode\n"
        f"{INV_1};psp-erp;4242\n",
        encoding="utf-8",
    )

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.counts["sent"] == 1
    payment = orders.invoices["INV-1"]["Payment"]
    assert (payment["PaymentRef"], payment["PaymentCode"]) == ("psp-erp", 4242)


def test_the_missing_order_number_is_taken_from_the_orders_acknowledgement(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    orders.add_order(1002)
    home = _home(tmp_path, "order_status")
    settings = settings_for(home, local, http)
    receive_order(home, 1001, PAYMENT)
    receive_order(home, 1002, PAYMENT)
    write_statuses(drop, "orderstatus_1.csv", [ACK_1, "SO-2;1002;10;2026-11-20 09:15;"])
    run(settings, "order_status")
    only_erp = INV_1.replace(";1001;SO-1;", ";;SO-1;")
    only_ref = INV_1.replace("INV-1;1001;SO-1;", "INV-2;1002;;")
    write_invoices(drop, "a.csv", [only_erp, only_ref])

    [outcome] = run(settings, "invoices_csv")

    assert outcome.counts["sent"] == 2
    sent = orders.invoices
    assert (sent["INV-1"]["ClientOrderRef"], sent["INV-1"]["ErpOrderNo"]) == (1001, "SO-1")
    assert (sent["INV-2"]["ClientOrderRef"], sent["INV-2"]["ErpOrderNo"]) == (1002, "SO-2")


def test_an_invoice_whose_order_cannot_be_told_waits_until_its_acknowledgement(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001, "SO-1")
    home = _home(tmp_path, "order_status")
    settings = settings_for(home, local, http)
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "a.csv", [INV_1.replace(";1001;SO-1;", ";1001;;")])

    [first] = run(settings, "invoices_csv")

    assert first.counts["sent"] == 0 and first.counts["waiting"] == 1
    assert orders.invoices == {}
    [listed] = manifest(first, home)["documents"]
    assert listed["outcome"] == "waiting"
    assert "ErpOrderNo" in listed["message"] and "acknowledge" in listed["message"]
    write_statuses(drop, "orderstatus_1.csv", [ACK_1])
    run(settings, "order_status")

    [again] = run(settings, "invoices_csv")

    assert again.counts["sent"] == 1
    assert orders.invoices["INV-1"]["ErpOrderNo"] == "SO-1"


def test_an_invoice_without_a_payment_to_capture_is_not_sent(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001, "SO-1")
    orders.add_order(1002, "SO-2")
    home = _home(tmp_path)
    receive_order(home, 1002, {"PaymentMethodCode": "INVOICE", "PaymentCode": 0})
    second = INV_1.replace("INV-1;1001;SO-1;", "INV-2;1002;SO-2;")
    write_invoices(drop, "a.csv", [INV_1, second])

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert orders.invoices == {}
    assert outcome.counts["waiting"] == 1 and outcome.counts["refused"] == 1
    waiting, refused = manifest(outcome, home)["documents"]
    assert "not received here" in waiting["message"]
    assert "neither PaymentCode nor PaymentRef" in refused["message"]
    documents = book(home)
    try:
        row = documents.find("invoice", "INV-2")
        assert row is not None and row.state == "rejected"
    finally:
        documents.close()


def test_a_credit_naming_only_the_erp_order_gets_the_client_order_ref(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = _home(tmp_path, "order_status")
    settings = settings_for(home, local, http)
    receive_order(home, 1001, PAYMENT)
    write_statuses(drop, "orderstatus_1.csv", [ACK_1])
    run(settings, "order_status")
    write_invoices(drop, "a.csv", [INV_1])
    run(settings, "invoices_csv")
    folder = drop / "credits_csv"
    folder.mkdir()
    (folder / "c.csv").write_text(
        f"{CREDIT_HEADER}\nCR-1;INV-1;;SO-1;2026-11-26;SEK;1;100123;1;79.20;19.80\n",
        encoding="utf-8",
    )

    [outcome] = run(settings, "credits_csv")

    assert outcome.counts["sent"] == 1
    credit = orders.credits["CR-1"]
    assert (credit["ClientOrderRef"], credit["ErpOrderNo"]) == (1001, "SO-1")
    assert credit["Payment"]["PaymentRef"] == "psp-abc"


def test_of_several_payments_the_files_payment_method_picks_the_one_to_capture(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001, "SO-1")
    orders.add_order(1002, "SO-2")
    contract = invoice_contract().replace(
        '"Vat" = "unit_vat"\n', '"Vat" = "unit_vat"\n"Method" = "payment_method_code"\n'
    )
    home = make_home(tmp_path, extra={"invoices_csv": contract})
    gift_card = {"PaymentCode": 111, "PaymentMethodCode": "GIFTCARD", "PaymentRef": "gc-1"}
    receive_order(home, 1001, gift_card, PAYMENT)
    receive_order(home, 1002, gift_card, PAYMENT)
    folder = drop / "invoices_csv"
    folder.mkdir()
    second = INV_1.replace("INV-1;1001;SO-1;", "INV-2;1002;SO-2;")
    (folder / "a.csv").write_text(
        "Invoice;Order;ErpOrder;Date;Currency;Last;Total;Line;Part;Qty;Price;Vat;Method\n"
        f"{INV_1};KLARNA\n{second};\n",
        encoding="utf-8",
    )

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.counts["sent"] == 1 and outcome.counts["refused"] == 1
    assert orders.invoices["INV-1"]["Payment"]["PaymentCode"] == 98765
    [_, refused] = manifest(outcome, home)["documents"]
    assert "has 2 payments (GIFTCARD, KLARNA)" in refused["message"]


def test_an_erp_order_number_tied_to_two_web_orders_is_not_guessed(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    # The ERP merged two web orders into SO-1: an invoice naming only SO-1 could capture
    # either order's payment, so it waits for the file to say which.
    orders.add_order(1001)
    orders.add_order(1002)
    home = _home(tmp_path, "order_status")
    settings = settings_for(home, local, http)
    receive_order(home, 1001, PAYMENT)
    receive_order(home, 1002, PAYMENT)
    write_statuses(drop, "orderstatus_1.csv", [ACK_1, "SO-1;1002;20;2026-11-20 09:16;"])
    run(settings, "order_status")
    write_invoices(drop, "a.csv", [INV_1.replace(";1001;SO-1;", ";;SO-1;")])

    [outcome] = run(settings, "invoices_csv")

    assert outcome.counts["sent"] == 0 and outcome.counts["waiting"] == 1
    assert orders.invoices == {}
    [listed] = manifest(outcome, home)["documents"]
    assert "several orders (1001 / SO-1, 1002 / SO-1)" in listed["message"]


def test_an_invoice_in_doubt_stays_in_doubt_while_it_waits_for_its_order(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    norce: NorceStandin,
) -> None:
    # An attempt that may have reached Norce leaves the invoice in doubt; if it then has to
    # wait (its order's spool is gone), it must stay in doubt, so that the run that finally
    # sends it first asks Query again: a second CreateInvoice may capture twice.
    orders.add_order(1001, "SO-1")
    home = _home(tmp_path)
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "a.csv", [INV_1])
    settings = settings_for(home, local, http)
    norce.fail_next(3, status=503, path="Order/CreateInvoice")  # every attempt of one run
    run(settings, "invoices_csv")
    for body in (home / "state" / "spool" / "orders").rglob("*.json"):
        body.unlink()

    run(settings, "invoices_csv")

    book = DocumentBook(home / "state" / "ledger.sqlite")
    try:
        row = book.find("invoice", "INV-1")
    finally:
        book.close()
    assert row is not None and row.state == "sending"
    assert orders.invoices == {}

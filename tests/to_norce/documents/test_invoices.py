"""Invoices and credits: fees captured once per order, the last invoice flagged, credits checked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import (
    PAYMENT,
    copy_samples,
    invoice_contract,
    make_home,
    manifest,
    receive_order,
    report_rows,
    run,
    settings_for,
    write_invoices,
)
from tests.support.norce.orders import OrderStandin

PART_ONE = [
    "INV-1;1001;SO-1;2026-11-20;SEK;0;247.00;1;100123;2;79.20;19.80",
    "INV-1;1001;SO-1;2026-11-20;SEK;0;247.00;2;FREIGHT;1;39.20;9.80",
]
PART_TWO = [  # the ERP copies the order's freight onto every part invoice
    "INV-2;1001;SO-1;2026-11-25;SEK;1;148.00;1;100124;1;79.20;19.80",
    "INV-2;1001;SO-1;2026-11-25;SEK;1;148.00;2;FREIGHT;1;39.20;9.80",
]


def test_freight_is_captured_with_the_first_invoice_only_and_the_drop_is_reported(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "inv_1.csv", PART_ONE + PART_TWO)

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.outcome == "committed"
    assert outcome.counts["sent"] == 2 and outcome.counts["fees_dropped"] == 1
    assert orders.captures == [("INV-1", Decimal("247.00")), ("INV-2", Decimal("99.00"))]
    first, second = orders.invoices["INV-1"], orders.invoices["INV-2"]
    assert [i["PartNo"] for i in first["Items"]] == ["100123", "FREIGHT"]
    assert [i["PartNo"] for i in second["Items"]] == ["100124"]
    assert (first["IsLastInvoiceForOrder"], second["IsLastInvoiceForOrder"]) == (False, True)
    assert (second["Vat"], second["Payment"]["Amount"]) == (19.8, 99)
    assert first["ClientOrderRef"] == 1001  # an int, as the Order service takes it
    [dropped] = report_rows(outcome, home)
    assert (dropped["Line"], dropped["Error code"], dropped["Value as received"]) == (
        5,
        "fee_dropped",
        "FREIGHT",
    )
    assert "an earlier invoice of the same order already carried it" in dropped["What is wrong"]
    assert outcome.message == "1 freight/fee line(s) dropped, already captured"


def test_fees_go_with_the_first_invoice_that_carries_them_even_in_a_later_file(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    receive_order(home, 1001, PAYMENT)
    settings = settings_for(home, local, http)
    write_invoices(drop, "inv_1.csv", [PART_ONE[0].replace("247.00", "198.00")])
    run(settings, "invoices_csv")
    write_invoices(drop, "inv_2.csv", PART_TWO)

    [outcome] = run(settings, "invoices_csv")

    # INV-1 carried no freight, so INV-2 keeps it: freight is captured once, not never.
    assert orders.captures == [("INV-1", Decimal("198.00")), ("INV-2", Decimal("148.00"))]
    assert outcome.counts.get("fees_dropped") is None


def test_a_later_invoice_repeating_fees_can_be_refused_instead(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    contract = invoice_contract('later_invoice_fees = "reject"')
    home = make_home(tmp_path, extra={"invoices_csv": contract})
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "inv_1.csv", PART_ONE + PART_TWO)

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert list(orders.invoices) == ["INV-1"]
    assert outcome.counts["refused"] == 1
    [refused] = report_rows(outcome, home)
    assert (refused["Line"], refused["Error code"]) == (4, "fee_repeated")
    assert "repeats FREIGHT" in refused["What is wrong"]


def test_a_credit_without_the_invoice_it_credits_is_rejected_with_a_clear_message(
    tmp_path: Path, drop: Path, local: LocalStoreSettings
) -> None:
    copy_samples(drop, "credits")
    home = make_home(tmp_path, "credits")
    receive_order(home, 1234567, PAYMENT)  # file mode too: the outbox body must be postable

    [outcome] = run(settings_for(home, local), "credits")  # file mode: the embedded default

    assert outcome.counts["sent"] == 1 and outcome.counts["rejected"] == 1
    [row] = report_rows(outcome, home)
    assert (row["Line"], row["Field"], row["Error code"]) == (3, "credited_invoice_no", "required")
    assert "Column in file" in row and row["Column in file"] == "Krediterad faktura"
    assert "CreditedInvoiceNo" in row["What is wrong"]
    assert "a credit without it cannot be sent" in row["What is wrong"]
    [written] = (home / "outbox" / "norce" / "credits").glob("credit-CR-9001.json")
    assert '"CreditedInvoiceNo":"INV-5566"' in written.read_text(encoding="utf-8")
    assert not list((home / "outbox" / "norce" / "credits").glob("*CR-9002*"))
    documents = manifest(outcome, home)["documents"]
    assert [(d["number"], d["outcome"]) for d in documents] == [("CR-9001", "sent")]

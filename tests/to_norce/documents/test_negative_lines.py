"""Negative lines on invoices: a credit line reduces the invoice, never refuses it.

Norce's InvoiceItem takes an int Quantity and a UnitPrice. A credit line goes as a negative
Quantity with the price as written (PEPPOL BIS 3 puts the sign on the quantity and keeps
the price positive); the VAT and the captured amount are the lines' sum, so the credit
line lowers them. An invoice whose lines add up to nothing or less captures nothing: it is
a credit note, sent by the credits feed to CreditPayment, and the invoice feed says so.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import (
    PAYMENT,
    invoice_contract,
    make_home,
    receive_order,
    report_rows,
    run,
    settings_for,
    write_invoices,
)
from tests.support.norce.orders import OrderStandin
from tests.support.paths import REPO

WITH_CREDIT_LINE = [
    "INV-7;1001;SO-1;2026-11-20;SEK;1;225.00;1;100123;3;80.00;20.00",
    # a returned glove from an earlier delivery, credited on this invoice
    "INV-7;1001;SO-1;2026-11-20;SEK;1;225.00;2;100123;-1;80.00;20.00",
    "INV-7;1001;SO-1;2026-11-20;SEK;1;225.00;3;FREIGHT;1;20.00;5.00",
]


def test_a_credit_line_of_negative_quantity_reduces_the_invoice(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "inv_7.csv", WITH_CREDIT_LINE)

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert (outcome.outcome, outcome.counts["sent"], outcome.counts["rejected"]) == (
        "committed",
        1,
        0,
    )
    body = orders.invoices["INV-7"]
    assert [(i["Quantity"], i["UnitPrice"], i["UnitVat"]) for i in body["Items"]] == [
        (3, 80, 20),
        (-1, 80, 20),
        (1, 20, 5),
    ]
    assert (body["Vat"], body["Payment"]["Amount"]) == (45, 225)
    assert orders.captures == [("INV-7", Decimal("225.00"))]


def test_an_invoice_that_adds_up_to_a_refund_is_pointed_to_the_credits_feed(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    receive_order(home, 1001, PAYMENT)
    write_invoices(
        drop, "inv_8.csv", ["INV-8;1001;SO-1;2026-11-20;SEK;1;-100.00;1;100123;-1;80.00;20.00"]
    )

    [outcome] = run(settings_for(home, local, http), "invoices_csv")

    assert outcome.outcome == "committed" and orders.invoices == {}
    [row] = report_rows(outcome, home)
    assert row["Error code"] == "negative_total"
    assert "CreditPayment" in row["What is wrong"]


def test_the_peppol_fixture_is_captured_through_the_flow_with_its_credit_line(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    """The dialect fixture's contract, given a [source], on the real flow and the stand-in."""
    fixture = REPO / "tests" / "fixtures" / "dialects" / "peppol_invoice"
    source = '[source]\nfolder = "peppol"\npattern = "*.xml"\nstable_seconds = 0\n'
    contract = fixture.with_suffix(".toml").read_text(encoding="utf-8")
    orders.add_order(1001, "SO-4711")
    home = make_home(tmp_path, extra={"peppol": contract.replace("[format]", source + "[format]")})
    receive_order(home, 1001, PAYMENT)
    (drop / "peppol").mkdir()
    shutil.copy(fixture.with_suffix(".xml"), drop / "peppol" / "SE-2026-0412.xml")

    [outcome] = run(settings_for(home, local, http), "peppol")

    assert (outcome.outcome, outcome.counts["sent"]) == ("committed", 1)
    body = orders.invoices["SE-2026-0412"]
    assert [i["Quantity"] for i in body["Items"]] == [3, -1, 1]
    # the payment the file does not name is the order's, as Norce pushed it
    assert (body["Payment"]["Amount"], body["Payment"]["PaymentRef"]) == (261.25, "psp-abc")
    assert orders.captures == [("SE-2026-0412", Decimal("261.25"))]

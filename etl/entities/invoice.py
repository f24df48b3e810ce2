"""Invoices -> `Order/CreateInvoice`, credits -> `Order/CreditPayment` (reference section 14).

Both take Norce's Invoice shape. An invoice captures the payment at the PSP, so its amounts
are exact decimals end to end: `Vat` and `Payment.Amount` are summed from the lines that are
sent, and a file that carries its own total is checked against them before anything goes.

Freight and fees are ordinary rows with their own article numbers (`options.fee_part_nos`).
Norce captures them once per order: a fee article that an earlier invoice of the same order
already carried is dropped from a later one (and the drop is reported), or, with
`later_invoice_fees = "reject"`, the later invoice is refused. `IsLastInvoiceForOrder` comes
from the contract: a mapped yes/no column, or `defaults.is_last_invoice = "1"` for shops that
never split an invoice; it is never left empty, because Norce reads empty as "last" and
closes the payment.

Norce needs both order numbers and a Payment naming PaymentCode or PaymentRef (reference,
corrections 4). A file needs only one of the numbers and may leave the payment out: the
sender completes the document from the order's acknowledgement and the order as received
before the body is built (etl.to_norce.documents.completion).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import pandera.polars as pa
import polars as pl

from etl.entities.base import EntityOptions
from etl.entities.checks import CURRENCY_PATTERN, MONEY, amount, code
from etl.entities.document import (
    NO,
    YES,
    Body,
    Document,
    DocumentEntity,
    Problem,
    client_order_ref,
    drop_nulls,
    flag,
    signed_amount,
)
from etl.entities.payloads import json_value


def _columns(*, credit: bool) -> dict[str, pa.Column]:
    optional_text = pa.Column(pl.String, [pa.Check.str_length(1, 100)], nullable=True)
    head = {
        "invoice_no": pa.Column(pl.String, code(), nullable=False),
        # Norce needs both order numbers (reference, corrections 4); a file may carry one,
        # and the sender completes the other from the order's acknowledgement
        # (etl.to_norce.documents.completion). `check` refuses a document that names neither.
        "client_order_ref": client_order_ref(),
        "erp_order_no": pa.Column(pl.String, code(), nullable=True),
        "invoice_date": pa.Column(pl.Date, nullable=False),
        "due_date": pa.Column(pl.Date, nullable=True),
        "delivery_date": pa.Column(pl.Date, nullable=True),
        "currency": pa.Column(pl.String, [pa.Check.str_matches(CURRENCY_PATTERN)], nullable=False),
        "payment_ref": optional_text,
        # Norce's id of the order's payment (Payment.PaymentCode, a C# int); 0 is what an
        # unset one arrives as, so 0 is refused here as "none" [I].
        "payment_code": pa.Column(pl.Int64, [pa.Check.in_range(1, 2**31 - 1)], nullable=True),
        "payment_method_code": optional_text,
        "round_off": pa.Column(MONEY, [pa.Check.in_range(-100, 100)], nullable=True),
        # Signed so that an invoice adding up to a refund is named as one (see `check`).
        "total_amount": pa.Column(
            MONEY, signed_amount() if not credit else amount(), nullable=True
        ),
    }
    if credit:
        head["credited_invoice_no"] = pa.Column(pl.String, code(), nullable=False)
    else:
        head["is_last_invoice"] = pa.Column(pl.String, [pa.Check.isin([*YES, *NO])], nullable=False)
    lines = {
        "line_no": pa.Column(pl.Int32, [pa.Check.in_range(1, 99_999)], nullable=False),
        "part_no": pa.Column(pl.String, code(), nullable=False),
        "description": pa.Column(pl.String, [pa.Check.str_length(1, 255)], nullable=True),
        # A credit line on an invoice has a negative quantity and its price as written
        # (PEPPOL BIS 3 keeps prices positive); a credit's own lines are what it refunds.
        "quantity": pa.Column(
            pl.Int32, [pa.Check.in_range(0 if credit else -999_999, 999_999)], nullable=False
        ),
        "unit_price": pa.Column(MONEY, signed_amount(), nullable=False),
        "unit_vat": pa.Column(MONEY, signed_amount(), nullable=True),
        "vat_rate": pa.Column(pl.Decimal(6, 2), [pa.Check.in_range(0, 100)], nullable=True),
    }
    return {**head, **lines}


LINE_FIELDS = (
    "line_no",
    "part_no",
    "description",
    "quantity",
    "unit_price",
    "unit_vat",
    "vat_rate",
)


class InvoiceOptions(EntityOptions):
    """Which rows are freight and fees, and what a later invoice that repeats them gets."""

    fee_part_nos: tuple[str, ...] = ()
    later_invoice_fees: Literal["drop", "reject"] = "drop"


class CreditOptions(EntityOptions):
    """Credits take no options yet."""


def unit_vat(line: Mapping[str, Any]) -> Decimal:
    """The line's VAT per unit: as the file states it, else its price times its rate.

    [I] Exports that carry only a rate (UBL among them) get the VAT per unit rounded half up
    to cents; a file that states its total has it checked against the result, so a rounding
    difference is reported instead of captured.
    """
    if line["unit_vat"] is not None:
        return Decimal(line["unit_vat"])
    rate = Decimal(line["vat_rate"] or 0)
    price = Decimal(line["unit_price"])
    return (price * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def totals(document: Document) -> tuple[Decimal, Decimal]:
    """(VAT, amount including VAT and round-off) of the document's lines, exactly."""
    vat = sum((line["quantity"] * unit_vat(line) for line in document.lines), Decimal(0))
    net = sum((line["quantity"] * line["unit_price"] for line in document.lines), Decimal(0))
    return vat, net + vat + (document.head.get("round_off") or Decimal(0))


def _money(value: Decimal) -> str:
    """An amount as people write it: two decimals unless it has more."""
    cents = value.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"


def check(document: Document, options: EntityOptions) -> list[Problem]:
    """The document names its order, and its lines add up to the total it states."""
    problems = []
    if document.client_order_ref is None and document.head.get("erp_order_no") is None:
        problems.append(
            Problem(
                "client_order_ref",
                "required",
                f"{document.kind} {document.number} names no order: it needs client_order_ref "
                "(Norce's order number) or erp_order_no",
            )
        )
    no_vat = [
        str(line["line_no"])
        for line in document.lines
        if line["unit_vat"] is None and line["vat_rate"] is None
    ]
    if no_vat:
        problems.append(
            Problem(
                "unit_vat",
                "required",
                f"line(s) {', '.join(no_vat)} of {document.kind} {document.number} have neither a "
                "VAT per unit nor a VAT rate: Norce needs the VAT to capture the right amount",
            )
        )
        return problems
    stated = document.head.get("total_amount")
    _, computed = totals(document)
    if document.kind == "invoice" and computed <= 0:
        problems.append(
            Problem(
                "total_amount",
                "negative_total",
                f"the lines of invoice {document.number} add up to {_money(computed)}: an invoice "
                "captures a payment, and this one refunds or captures nothing. Export it as a "
                "credit note, which the credits feed sends to Norce as CreditPayment",
            )
        )
    elif stated is not None and computed != stated:
        problems.append(
            Problem(
                "total_amount",
                "total_mismatch",
                f"the lines add up to {_money(computed)} including VAT and round-off, but the "
                f"stated total is {_money(stated)}; nothing of {document.kind} {document.number} is sent",
            )
        )
    return problems


def fee_parts(document: Document, fee_part_nos: tuple[str, ...]) -> set[str]:
    """The fee articles among the document's lines."""
    return {line["part_no"] for line in document.lines if line["part_no"] in fee_part_nos}


def without_parts(document: Document, parts: set[str]) -> tuple[Document, list[int]]:
    """The document without lines of `parts`, and the indexes of the lines taken out."""
    dropped = [n for n, line in enumerate(document.lines) if line["part_no"] in parts]
    kept = tuple(line for n, line in enumerate(document.lines) if n not in dropped)
    return Document(document.kind, document.number, document.head, kept), dropped


def _body(document: Document) -> Body:
    head = document.head
    vat, total = totals(document)
    payment = {
        "PaymentCode": head.get("payment_code"),  # absent in documents booked before it existed
        "PaymentRef": head["payment_ref"],
        "PaymentMethodCode": head["payment_method_code"],
        "Amount": json_value(total),
        "CurrencyCode": head["currency"],
    }
    items = [
        drop_nulls(
            {
                "LineNo": line["line_no"],
                "PartNo": line["part_no"],
                "Description": line["description"],
                "Quantity": line["quantity"],
                "UnitPrice": json_value(line["unit_price"]),
                "UnitVat": json_value(unit_vat(line)),
                "VatRate": json_value(line["vat_rate"]),
            }
        )
        for line in document.lines
    ]
    return {
        "InvoiceNo": head["invoice_no"],
        "ClientOrderRef": document.client_order_ref,
        "ErpOrderNo": head["erp_order_no"],
        "InvoiceDate": json_value(head["invoice_date"]),
        "InvoiceDueDate": json_value(head["due_date"]),
        "DeliveryDate": json_value(head["delivery_date"]),
        "CurrencyCode": head["currency"],
        "Vat": json_value(vat),
        "InvoiceRoundOff": json_value(head["round_off"]),
        "Payment": drop_nulls(payment),
        "Items": items,
    }


def build_invoice_body(document: Document, options: EntityOptions) -> Body:
    """The CreateInvoice body; IsLastInvoiceForOrder always set, never left to Norce's default."""
    return drop_nulls(
        {**_body(document), "IsLastInvoiceForOrder": flag(document.head["is_last_invoice"])}
    )


def build_credit_body(document: Document, options: EntityOptions) -> Body:
    """The CreditPayment body: the Invoice shape naming the invoice it credits."""
    return drop_nulls(
        {**_body(document), "CreditedInvoiceNo": document.head["credited_invoice_no"]}
    )


_LABELS = {
    "invoice_no": "Invoice number, unique in Norce (Norce InvoiceNo)",
    "client_order_ref": "Norce's order number, the basket id (Norce ClientOrderRef, a whole number)",
    "erp_order_no": "The ERP's order number (Norce ErpOrderNo)",
    "invoice_date": "Invoice date (Norce InvoiceDate)",
    "due_date": "Due date (Norce InvoiceDueDate)",
    "delivery_date": "Delivery date (Norce DeliveryDate)",
    "currency": "ISO 4217 currency code, e.g. SEK",
    "payment_ref": (
        "The payment's reference at the payment provider (Norce PaymentRef); when neither it "
        "nor payment_code is in the file, the order's payment as Norce sent it is used"
    ),
    "payment_code": "Norce's id of the order's payment, a whole number (Norce PaymentCode)",
    "payment_method_code": "Payment method code (Norce PaymentMethodCode)",
    "round_off": "Round-off amount of the invoice (Norce InvoiceRoundOff)",
    "total_amount": "Invoice total including VAT, checked against the lines",
    "is_last_invoice": (
        "Whether this is the order's last invoice (1/0, Y/N, J/N, true/false): the last one "
        "closes the payment (Norce IsLastInvoiceForOrder)"
    ),
    "credited_invoice_no": (
        "Number of the invoice this credit refunds (Norce CreditedInvoiceNo): Norce refunds "
        "against that invoice's capture, so a credit without it cannot be sent"
    ),
    "line_no": "Line number, a whole number (Norce LineNo)",
    "part_no": "Article number of the line, freight and fees included (Norce PartNo)",
    "description": "Line text (Norce Description)",
    "quantity": (
        "Quantity, a whole number (Norce Quantity); on an invoice a credit line is negative "
        "with its price as written, and reduces the amount captured"
    ),
    "unit_price": "Unit price excluding VAT, after discount (Norce UnitPrice)",
    "unit_vat": "VAT per unit (Norce UnitVat); when empty, unit price times VAT rate, in cents",
    "vat_rate": "VAT rate in percent, e.g. 25 (Norce VatRate)",
}


def _entity(name: str, *, credit: bool) -> DocumentEntity:
    columns = _columns(credit=credit)
    return DocumentEntity(
        name=name,
        schema=pa.DataFrameSchema(columns, strict=False, name=name),
        key=("invoice_no", "line_no"),
        options_model=CreditOptions if credit else InvoiceOptions,
        labels={f: _LABELS[f] for f in columns},
        method="Order/CreditPayment" if credit else "Order/CreateInvoice",
        head_fields=tuple(f for f in columns if f not in LINE_FIELDS),
        line_key="line_no",
        build_body=build_credit_body if credit else build_invoice_body,
        check=check,
    )


INVOICE = _entity("invoice", credit=False)
CREDIT = _entity("credit", credit=True)

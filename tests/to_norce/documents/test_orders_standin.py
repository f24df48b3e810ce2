"""The stand-in's Order service refuses what the reference does not allow, and keeps Norce's state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.norce.app import NorceStandin
from tests.support.norce.connect import CONNECT_PATH
from tests.support.norce.orders import OrderStandin

ITEM = {"LineNo": 1, "PartNo": "100123", "Quantity": 2, "UnitPrice": 79.2, "UnitVat": 19.8}
INVOICE: dict[str, Any] = {
    "InvoiceNo": "INV-1",
    "ClientOrderRef": 1234567,
    "ErpOrderNo": "SO-1",
    "InvoiceDate": "2026-11-20T00:00:00",
    "CurrencyCode": "SEK",
    "Vat": 39.6,
    "IsLastInvoiceForOrder": False,
    "Payment": {"PaymentRef": "psp-abc", "Amount": 198, "CurrencyCode": "SEK"},
    "Items": [ITEM],
}
CREDIT = {
    **INVOICE,
    "InvoiceNo": "CR-1",
    "CreditedInvoiceNo": "INV-1",
}


def _post(norce: NorceStandin, method: str, body: object) -> httpx.Response:
    token = httpx.post(
        f"{norce.base_url}/identity/1.0/connect/token",
        data={"grant_type": "client_credentials", "client_id": norce.client_id,
              "client_secret": norce.client_secret, "scope": norce.scope},
    ).json()["access_token"]  # fmt: skip
    return httpx.post(
        f"{norce.base_url}{CONNECT_PATH}/{method}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


PAID = {"Amount": 198, "CurrencyCode": "SEK"}  # a payment that names none of Norce's payments
NOTE = {"OrderNo": "1234567", "NoteNo": "DN-1", "DeliveryDate": "2026-11-20T00:00:00"}
NO_CREDITED = {k: v for k, v in CREDIT.items() if k != "CreditedInvoiceNo"}
INVOICE_AS = "Order/CreateInvoice"
BAD = [
    (INVOICE_AS, {**INVOICE, "ClientOrderRef": "1234567"}, "ClientOrderRef has the wrong type"),
    (INVOICE_AS, {**INVOICE, "Items": [{**ITEM, "Quantity": 1.5}]}, "Quantity has the wrong type"),
    (INVOICE_AS, {**INVOICE, "InvoiceDate": "2026-11-20"}, "InvoiceDate has the wrong type"),
    (INVOICE_AS, {**INVOICE, "Comment": None}, "null at Comment"),
    (INVOICE_AS, {**INVOICE, "Payment": {"PaymentRef": "p", "Amount": 197}}, "Amount 197 does not"),
    (INVOICE_AS, {**INVOICE, "Payment": PAID}, "Either PaymentCode or PaymentRef"),
    (INVOICE_AS, {**INVOICE, "Payment": {**PAID, "PaymentCode": 0}}, "Either PaymentCode or"),
    (INVOICE_AS, {**INVOICE, "Payment": {**PAID, "PaymentRef": ""}}, "Either PaymentCode or"),
    (INVOICE_AS, _without(INVOICE, "Payment"), "needs ['Payment']"),
    (INVOICE_AS, _without(INVOICE, "ClientOrderRef"), "needs ['ClientOrderRef']"),
    (INVOICE_AS, _without(INVOICE, "ErpOrderNo"), "needs ['ErpOrderNo']"),
    ("Order/CreditPayment", _without(CREDIT, "ErpOrderNo"), "needs ['ErpOrderNo']"),
    ("Order/CreditPayment", {**CREDIT, "Payment": PAID}, "Either PaymentCode or PaymentRef"),
    ("Order/CreditPayment", NO_CREDITED, "needs ['CreditedInvoiceNo']"),
    ("Order/CreateDeliveryNote", {**NOTE, "DeliverynoteItems": []}, "['DeliverynoteItems']"),
    ("Order/SendOrderStatus", {"ClientOrderRef": 1234567, "OrderStatus": "Shipped"}, "'Shipped'"),
    ("Order/SendOrderStatus", {"OrderStatus": "Confirmed"}, "Either ClientOrderRef or ErpOrderNo"),
    ("Order/SendOrderStatus", [], "body must be a JSON object"),
]


@pytest.mark.parametrize(("method", "body", "message"), BAD)
def test_bodies_that_break_the_reference_are_refused(
    norce: NorceStandin, orders: OrderStandin, method: str, body: object, message: str
) -> None:
    orders.add_order(1234567)

    answer = _post(norce, method, body)

    assert answer.status_code == 400
    assert message in answer.json()["Message"]
    assert orders.calls == []


def test_norce_keeps_invoices_by_number_and_knows_only_its_orders(
    norce: NorceStandin, orders: OrderStandin
) -> None:
    unknown = _post(norce, "Order/CreateInvoice", INVOICE)
    orders.add_order(1234567, "SO-1")
    first = _post(norce, "Order/CreateInvoice", INVOICE)
    again = _post(norce, "Order/CreateInvoice", INVOICE)
    credit = _post(norce, "Order/CreditPayment", CREDIT)
    note = _post(
        norce,
        "Order/CreateDeliveryNote",
        {"OrderNo": "SO-1", "NoteNo": "DN-1", "DeliveryDate": "2026-11-20T00:00:00",
         "DeliveryNotePackages": [{"ParcelNumber": "0037"}]},
    )  # fmt: skip

    assert (unknown.status_code, unknown.json()["Message"]) == (
        400,
        "Order not found (ClientOrderRef 1234567)",
    )
    assert first.status_code == 200 and credit.status_code == 200 and note.status_code == 200
    assert (again.status_code, again.json()["Message"]) == (400, "InvoiceNo INV-1 already exists")
    assert list(orders.invoices) == ["INV-1"] and list(orders.credits) == ["CR-1"]
    assert [c.method for c in orders.calls] == [
        "Order/CreateInvoice",
        "Order/CreditPayment",
        "Order/CreateDeliveryNote",
    ]

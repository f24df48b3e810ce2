"""Order bodies as Norce pushes them: the reference's full OrderRequest and a minimal one."""

from __future__ import annotations

import json
from typing import Any


def order(ref: str = "1234567", **changes: Any) -> dict[str, Any]:
    """An OrderRequest as in reference section 11."""
    body: dict[str, Any] = {
        "Header": {"ApplicationKey": "00000000-0000-0000-0000-000000000000"},
        "ClientOrderRef": ref,
        "SubmitDate": "2026-05-01T12:00:00",
        "CurrencyCode": "SEK",
        "OrderType": 1,
        "Source": "WEB",
        "DoHold": False,
        "SellTo": {"Person": {"CustomerCode": "C-000123", "FirstName": "Anna",
                              "LastName": "Andersson", "Email": "anna@example.com"}},
        "ShipTo": {"Person": {"Address": {"Line1": "Storgatan 1", "ZipCode": "11122",
                                          "City": "Stockholm", "Country": "SE"}}},
        "Payments": [{"PaymentCode": 98765, "PaymentMethodCode": "KLARNA", "Amount": 247.0}],
        "Items": [
            {"LineNo": 1, "PartNo": "100123", "Description": "Arbetshandske L", "Quantity": 2,
             "UnitPrice": 79.2, "UnitVat": 19.8, "VatRate": 25, "Type": "ErpStandard",
             "TypeGroup": "Physical"},
            {"LineNo": 2, "PartNo": "FREIGHT", "Quantity": 1, "UnitPrice": 39.2, "UnitVat": 9.8,
             "VatRate": 25, "Type": "Freight", "TypeGroup": "Fee"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def encode(body: dict[str, Any]) -> bytes:
    """The body as JSON bytes, the way Norce posts it."""
    return json.dumps(body).encode()


def minimal_order(ref: str = "1234567", **changes: Any) -> dict[str, Any]:
    """A small OrderRequest: a company buyer, one article and freight, prices as text."""
    body: dict[str, Any] = {
        "ClientOrderRef": ref,
        "CurrencyCode": "SEK",
        "SubmitDate": "2026-11-22T02:59:00",
        "SellTo": {"Company": {"Code": "K-5566", "Name": "Bygg AB"}},
        "Items": [
            {"LineNo": 1, "PartNo": "100123", "Quantity": 2, "UnitPrice": "79.20"},
            {"LineNo": 2, "PartNo": "FREIGHT", "Quantity": 1, "UnitPrice": "39.20",
             "Type": "Freight", "TypeGroup": "Fee"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body

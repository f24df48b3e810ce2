"""Small, valid Connect calls shaped as the reference documents them."""

from __future__ import annotations

from typing import Any

import httpx

from etl.entities.calls import NorceCall
from tests.support.norce.app import NorceStandin

ACCOUNT_ID = 1001
# One client for the raw helpers: building a client (its SSL context) costs ~50 ms each time.
HTTP = httpx.Client(timeout=5.0)


def header(fields_name: str, numbers: list[int], **extra: Any) -> dict[str, Any]:
    """A delta header listing `numbers` in `fields_name`."""
    return {"AccountId": ACCOUNT_ID, "FullFile": False, fields_name: numbers, **extra}


def price_call(*items: dict[str, Any], fields: list[int] | None = None) -> NorceCall:
    """An ImportSkuPriceLists call; default one PriceSale row."""
    rows = list(items) or [{"PartNo": "100123", "PriceListCode": "STD-SEK", "PriceSale": 79.2}]
    return NorceCall(
        "Product/ImportSkuPriceLists",
        header("SkuPriceListFieldsThatAreSet", fields or [3], SerializationType=0),
        rows,
        "0001-ImportSkuPriceLists-change1",
    )


def onhand_call(*items: dict[str, Any], fields: list[int] | None = None) -> NorceCall:
    """An ImportOnhands call; default one OnhandValue row."""
    rows = list(items) or [
        {"PartNo": "100123", "WarehouseCode": "MAIN", "LocationCode": "MAIN", "OnhandValue": 42}
    ]
    return NorceCall(
        "Product/ImportOnhands",
        header("SkuOnhandFieldsThatAreSet", fields or [3]),
        rows,
        "0002-ImportOnhands-change1",
    )


def product_call() -> NorceCall:
    """An ImportProducts call with one product, one variant, one SKU."""
    sku = {"PartNo": "100123", "Status": 1, "Type": 1, "EanCode": "7350000000012"}
    product = {
        "ManufacturerCode": "ACME",
        "Variants": [{"ManufacturerPartNo": "AG-100-L", "Skus": [sku]}],
    }
    head = {
        "AccountId": ACCOUNT_ID,
        "FullFile": False,
        "ProductFieldsThatAreSet": [0, 4],
        "VariantFieldsThatAreSet": [0, 5],
        "SkuFieldsThatAreSet": [1, 2, 5],
        "SerializationType": 0,
    }
    return NorceCall("Product/ImportProducts", head, [product], "0001-ImportProducts-add")


def customer_call() -> NorceCall:
    """An ImportCustomers call with one customer."""
    item = {"Code": "C-1", "FirstName": "Anna", "LastName": "A", "EmailAddress": "a@example.com"}
    head = {"AccountId": ACCOUNT_ID, "CustomerFieldsThatAreSet": [2, 3, 6, 8]}
    return NorceCall("Customer/ImportCustomers", head, [item], "0001-ImportCustomers-add")


def company_call() -> NorceCall:
    """An ImportCompanies call with one company."""
    item = {"Code": "K-1", "Name": "Kund AB", "OrganizationNo": "556677-8899"}
    head = {"AccountId": ACCOUNT_ID, "CompanyFieldsThatAreSet": [2, 3, 4]}
    return NorceCall("Customer/ImportCompanies", head, [item], "0001-ImportCompanies-add")


def raw_token(norce: NorceStandin) -> str:
    """A bearer token fetched without our client."""
    form = {
        "grant_type": "client_credentials",
        "client_id": norce.client_id,
        "client_secret": norce.client_secret,
        "scope": norce.scope,
    }
    answer = HTTP.post(f"{norce.base_url}/identity/1.0/connect/token", data=form)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def raw_post(norce: NorceStandin, method: str, header_line: str, body: bytes) -> httpx.Response:
    """POST exactly these bytes to an import, bypassing NorceClient's own formatting."""
    headers = {
        "Authorization": f"Bearer {raw_token(norce)}",
        "X-StormConnect-Header": header_line,
        "Content-Type": "application/json",
    }
    url = f"{norce.base_url}/commerce/connect/4.0/{method}"
    return HTTP.post(url, headers=headers, content=body)

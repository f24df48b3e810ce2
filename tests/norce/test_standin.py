"""The stand-in's own checks: it must refuse what real Norce would refuse or mis-apply."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import HTTP, header, raw_post, raw_token

PRICES = "Product/ImportSkuPriceLists"
ONHANDS = "Product/ImportOnhands"
ROW = {"PartNo": "1", "PriceListCode": "STD", "PriceSale": 10}


def line(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def post(norce: NorceStandin, method: str, head: object, items: object) -> httpx.Response:
    return raw_post(norce, method, line(head), json.dumps(items).encode())


def assert_refused(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 400
    assert words in answer.json()["Message"]


def test_a_valid_call_is_accepted_and_recorded(norce: NorceStandin) -> None:
    answer = post(norce, PRICES, header("SkuPriceListFieldsThatAreSet", [3]), [ROW])
    assert answer.status_code == 200
    body = answer.json()
    assert isinstance(body["JobId"], str) and body["JobId"].isdigit()
    assert body["ValidationSummary"] == {
        "NrOfItemsInTotal": 1,
        "NrOfValidationFailures": 0,
        "Messages": [],
    }
    assert norce.calls[0].items == [ROW]


def test_a_multi_line_header_is_refused(norce: NorceStandin) -> None:
    # httpx refuses to send a line break in a header; obsolete line folding still can.
    host, port = norce.base_url.removeprefix("http://").split(":")
    body = json.dumps([ROW]).encode()
    request = (
        f"POST /commerce/connect/4.0/{PRICES} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {raw_token(norce)}\r\nContent-Type: application/json\r\n"
        'X-StormConnect-Header: {"AccountId":1001,"FullFile":false,\r\n'
        ' "SkuPriceListFieldsThatAreSet":[3]}\r\n'
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"must be one line of JSON" in answer


@pytest.mark.parametrize(
    ("method", "head", "words"),
    [
        (PRICES, header("SkuPriceListFieldsThatAreSet", [3], FullFile=True), "FullFile must be"),
        (PRICES, {"AccountId": 1, "SkuPriceListFieldsThatAreSet": [3]}, "FullFile must be sent"),
        (PRICES, header("SkuPriceListFieldsThatAreSet", [3, 2]), "does not define: [2]"),
        (PRICES, header("SkuPriceListFieldsThatAreSet", [3, True]), "array of integers"),
        (PRICES, header("SkuOnhandFieldsThatAreSet", [3]), "does not take"),
        (PRICES, {"FullFile": False, "SkuPriceListFieldsThatAreSet": [3]}, "integer AccountId"),
        (PRICES, header("SkuPriceListFieldsThatAreSet", [3], AccountId="1"), "integer AccountId"),
        (ONHANDS, header("SkuOnhandFieldsThatAreSet", [3, 12]), "does not define: [12]"),
        (
            PRICES,
            header("SkuPriceListFieldsThatAreSet", [3], IgnoreSkuPriceListFieldsWhenEmpty=[4]),
            "IgnoreSkuPriceListFieldsWhenEmpty",
        ),
        (
            "Customer/ImportCustomers",
            {"AccountId": 1, "FullFile": False, "CustomerFieldsThatAreSet": [2]},
            "does not take ['FullFile']",
        ),
        (
            "Product/ImportProducts",
            header("SkuFieldsThatAreSet", [1, 17], ProductFieldsThatAreSet=[0]),
            "does not define: [17]",
        ),
    ],
)
def test_bad_headers_are_refused(
    norce: NorceStandin, method: str, head: object, words: str
) -> None:
    items = [
        {"Code": "C", "ManufacturerCode": "M", **ROW, "WarehouseCode": "W", "LocationCode": "L"}
    ]
    assert_refused(post(norce, method, head, items), words)
    assert norce.calls == []


@pytest.mark.parametrize(
    ("method", "items", "words"),
    [
        (PRICES, ROW, "must be a JSON array"),
        (PRICES, [ROW, "x"], "item [1] is not an object"),
        (PRICES, [{"PartNo": "1", "PriceSale": 10}], "non-empty string PriceListCode"),
        (PRICES, [{**ROW, "PartNo": 1}], "non-empty string PartNo"),
        (PRICES, [{**ROW, "CostPurchase": None}], "null at [0].CostPurchase"),
        (ONHANDS, [{"PartNo": "1", "WarehouseCode": "W"}], "LocationCode"),
    ],
)
def test_bad_bodies_are_refused(
    norce: NorceStandin, method: str, items: object, words: str
) -> None:
    fields = "SkuPriceListFieldsThatAreSet" if method == PRICES else "SkuOnhandFieldsThatAreSet"
    assert_refused(post(norce, method, header(fields, [3]), items), words)


@pytest.mark.parametrize(
    ("product", "words"),
    [
        ({"Variants": []}, "ManufacturerCode"),
        ({"ManufacturerCode": "M", "Variants": [{"Skus": [{"Status": 1}]}]}, "Skus[0] needs"),
        ({"ManufacturerCode": "M", "Variants": [{"Skus": [{"PartNo": "1"}, {"PartNo": "2"}]}]},
         "Norce allows 1"),
    ],
)  # fmt: skip
def test_bad_products_are_refused(norce: NorceStandin, product: object, words: str) -> None:
    head = header(
        "SkuFieldsThatAreSet", [1], ProductFieldsThatAreSet=[0, 4], VariantFieldsThatAreSet=[5]
    )
    assert_refused(post(norce, "Product/ImportProducts", head, [product]), words)


def test_imports_need_a_valid_token(norce: NorceStandin) -> None:
    url = f"{norce.base_url}/commerce/connect/4.0/{PRICES}"
    headers = {"Authorization": "Bearer forged", "X-StormConnect-Header": "{}"}
    assert HTTP.post(url, headers=headers, content=b"[]").status_code == 401
    assert HTTP.get(f"{norce.base_url}/commerce/connect/4.0/Job/Get?id=1").status_code == 401


def test_token_endpoint_checks_the_form(norce: NorceStandin) -> None:
    url = f"{norce.base_url}/identity/1.0/connect/token"
    good = {
        "grant_type": "client_credentials",
        "client_id": norce.client_id,
        "client_secret": norce.client_secret,
        "scope": "playground",
    }
    assert HTTP.post(url, data=good).json()["expires_in"] == 3600
    assert HTTP.post(url, data={**good, "client_secret": "x"}).status_code == 401
    assert HTTP.post(url, data={**good, "scope": "prod"}).status_code == 400
    assert HTTP.post(url, data={**good, "grant_type": "password"}).status_code == 400
    assert norce.token_requests == 4


def test_state_merges_only_listed_fields_and_ignores_zero_prices(norce: NorceStandin) -> None:
    first = {**ROW, "CostPurchase": 4, "IsActive": True}
    assert post(
        norce, PRICES, header("SkuPriceListFieldsThatAreSet", [3, 4, 10]), [first]
    ).is_success
    # CostPurchase is sent but not listed; a PriceSale of 0 never overwrites; IsActive False does.
    second = {**ROW, "PriceSale": 0, "CostPurchase": 9, "IsActive": False}
    assert post(norce, PRICES, header("SkuPriceListFieldsThatAreSet", [3, 10]), [second]).is_success
    assert norce.state.prices[("1", "STD", 1)] == {
        "PartNo": "1",
        "PriceListCode": "STD",
        "PriceSale": 10,
        "CostPurchase": 4,
        "IsActive": False,
    }


def test_job_reports_initialized_first_then_its_final_state(norce: NorceStandin) -> None:
    job_id = post(norce, PRICES, header("SkuPriceListFieldsThatAreSet", [3]), [ROW]).json()["JobId"]
    auth = {"Authorization": f"Bearer {raw_token(norce)}"}
    get = f"{norce.base_url}/commerce/connect/4.0/Job/Get?id={job_id}"
    first, final = HTTP.get(get, headers=auth).json(), HTTP.get(get, headers=auth).json()
    assert (first["StatusId"], first["IsFinished"]) == (1, False)
    assert (final["StatusId"], final["IsFinished"], final["Insert"], final["Fail"]) == (
        2,
        True,
        1,
        0,
    )
    log = HTTP.get(get.replace("Job/Get", "Job/GetLog"), headers=auth).json()
    assert [e["Message"] for e in log] == ["Starting import.", "Import finished."]


def test_products_set_exactly_the_listed_fields_per_level(norce: NorceStandin) -> None:
    norce.live_state.add_sku(
        "1",
        product={"ManufacturerCode": "M", "ManufacturerName": "Seeded", "Cultures": {}},
        sku={"ManufacturerPartNo": "V", "Status": 1, "EanCode": "96385074", "IsBuyable": True},
    )
    head = header(
        "SkuFieldsThatAreSet",
        [2, 5, 22],  # Type, EanCode (left out: null), StatusCreateOnly (SKU exists: ignored)
        ProductFieldsThatAreSet=[4],
        VariantFieldsThatAreSet=[5],
    )
    sku = {"PartNo": "1", "Status": 6, "Type": 1, "IsBuyable": False}  # IsBuyable: not listed
    product = {"ManufacturerCode": "M", "ManufacturerName": "X", "Variants": [
        {"ManufacturerPartNo": "V", "Skus": [sku]},
        {"ManufacturerPartNo": "W", "Skus": [{"PartNo": "2", "Type": 1}]},  # new, no Status
    ]}  # fmt: skip
    assert post(norce, "Product/ImportProducts", head, [product]).is_success
    state = norce.state
    assert state.skus["1"] == {
        "PartNo": "1", "ManufacturerPartNo": "V", "ManufacturerCode": "M",
        "Status": 1, "Type": 1, "EanCode": None, "IsBuyable": True,
    }  # fmt: skip
    assert state.products["1"]["ManufacturerName"] == "Seeded"  # 1 is not listed
    assert "2" not in state.skus  # a new SKU needs Status and Type

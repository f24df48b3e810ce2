"""Every amount of an order reaches the ERP: vouchers, fees, and a check that they add up.

Amounts as the layouts read them (README, "Order files"): item prices and `Fees[].Amount`
are ex VAT; `Discounts[].Amount` (a voucher) and `Payments[].Amount` include VAT.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from etl.orders.checks import hold_reasons
from etl.orders.model import OrderRequest
from etl.orders.render import render_orders
from tests.fixtures.orders import sample, shipped

NS = {
    "u": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CURRENCIES = ("SEK",)


def _with(name: str, **changes: Any) -> OrderRequest:
    """A sample order with some of its wire fields replaced."""
    body = sample(name).model_dump(by_alias=True, exclude_none=True)
    body.update(changes)
    return OrderRequest.model_validate(body)


def _voucher(amount: str = "150", paid: str = "156.99") -> OrderRequest:
    # order_1001: lines 245.59 ex VAT + 61.40 VAT = 306.99; a voucher of 150 leaves 156.99.
    payment = {"PaymentMethodCode": "KLARNA", "Amount": paid, "CurrencyCode": "SEK"}
    return _with(
        "order_1001",
        Discounts=[{"Type": "Voucher", "Code": "SAVE150", "Amount": amount}],
        Payments=[payment],
    )


def _csv(order: OrderRequest) -> list[list[str]]:
    text = render_orders(shipped("erp_csv"), [order]).decode("cp1252")
    return [line.split(";") for line in text.splitlines()]


def _ubl(order: OrderRequest) -> etree._Element:
    return etree.fromstring(render_orders(shipped("peppol_order"), [order]))


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(v) for v in root.xpath(path, namespaces=NS)]


def test_a_voucher_reaches_the_csv_and_the_head_total_is_what_is_paid() -> None:
    rows = _csv(_voucher())
    discounts = [r for r in rows if r[0] == "D"]
    assert discounts == [["D", "1001", "Voucher", "SAVE150", "150,00", "120,00", "30,00"]]
    head = rows[0]
    # TotalExVat, TotalVat, Total: 245.59 - 120.00 = 125.59 and 61.40 - 30.00 = 31.40.
    assert head[-3:] == ["125,59", "31,40", "156,99"]


def test_a_voucher_is_an_allowance_in_the_ubl_with_totals_that_agree() -> None:
    root = _ubl(_voucher())
    charge = "/u:Order/cac:AllowanceCharge"
    assert _texts(root, f"{charge}/cbc:ChargeIndicator/text()") == ["false"]
    assert _texts(root, f"{charge}/cbc:AllowanceChargeReason/text()") == ["Voucher SAVE150"]
    assert _texts(root, f"{charge}/cbc:Amount/text()") == ["120.00"]
    assert _texts(root, f"{charge}/cac:TaxCategory/cbc:Percent/text()") == ["25"]
    total = "/u:Order/cac:AnticipatedMonetaryTotal"
    assert _texts(root, f"{total}/cbc:LineExtensionAmount/text()") == ["245.59"]
    assert _texts(root, f"{total}/cbc:AllowanceTotalAmount/text()") == ["120.00"]
    assert _texts(root, f"{total}/cbc:TaxExclusiveAmount/text()") == ["125.59"]
    assert _texts(root, f"{total}/cbc:PayableAmount/text()") == ["156.99"]
    assert _texts(root, "/u:Order/cac:TaxTotal/cbc:TaxAmount/text()") == ["31.40"]


def test_fees_outside_the_lines_are_carried_as_charges() -> None:
    fee = {"Type": 1, "Description": "Fakturaavgift", "Amount": "20", "VatRate": "25"}
    payment = {"PaymentMethodCode": "INVOICE", "Amount": "331.99", "CurrencyCode": "SEK"}
    order = _with("order_1001", Fees=[fee], Payments=[payment])
    fees = [r for r in _csv(order) if r[0] == "F"]
    assert fees == [["F", "1001", "1", "Fakturaavgift", "20,00", "25", "5,00"]]
    root = _ubl(order)
    charge = "/u:Order/cac:AllowanceCharge"
    assert _texts(root, f"{charge}/cbc:ChargeIndicator/text()") == ["true"]
    assert _texts(root, f"{charge}/cbc:Amount/text()") == ["20.00"]
    total = "/u:Order/cac:AnticipatedMonetaryTotal"
    assert _texts(root, f"{total}/cbc:ChargeTotalAmount/text()") == ["20.00"]
    assert _texts(root, f"{total}/cbc:PayableAmount/text()") == ["331.99"]
    assert hold_reasons(order, CURRENCIES) == []


def test_an_order_whose_amounts_do_not_add_up_is_held_with_the_difference() -> None:
    # The voucher is in Discounts, but the payment is still the full 306.99.
    reasons = hold_reasons(_voucher(paid="306.99"), CURRENCIES)
    assert len(reasons) == 1
    assert "156.99" in reasons[0] and "306.99" in reasons[0] and "150.00" in reasons[0]


def test_an_order_that_adds_up_is_not_held() -> None:
    assert hold_reasons(_voucher(), CURRENCIES) == []
    assert hold_reasons(sample("order_1001"), CURRENCIES) == []


def test_an_order_without_payments_is_held_only_when_its_total_is_negative() -> None:
    assert hold_reasons(_with("order_1001", Payments=[]), CURRENCIES) == []
    voucher = [{"Type": "Voucher", "Code": "X", "Amount": "500"}]
    reasons = hold_reasons(_with("order_1001", Payments=[], Discounts=voucher), CURRENCIES)
    assert any("negative" in r for r in reasons)


def test_a_line_with_only_an_erp_part_no_is_identified_in_every_layout() -> None:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body["Items"][0].pop("PartNo")
    body["Items"][0]["ErpPartNo"] = "E-100123"
    order = OrderRequest.model_validate(body)
    lines = [r for r in _csv(order) if r[0] == "L"]
    assert lines[0][3] == "E-100123"  # the PartNo column
    ids = "/u:Order/cac:OrderLine/cac:LineItem/cac:Item/cac:SellersItemIdentification/cbc:ID"
    assert _texts(_ubl(order), f"{ids}/text()")[0] == "E-100123"


def test_care_of_and_contact_names_are_mapped_in_both_layouts() -> None:
    order = sample("order_1001")
    head = _csv(order)[0]
    assert "Ek" in head  # ShipCareOf
    root = _ubl(order)
    delivery = "/u:Order/cac:Delivery"
    assert _texts(
        root, f"{delivery}/cac:DeliveryLocation/cac:Address/cac:AddressLine/cbc:Line/text()"
    ) == ["c/o Ek"]
    assert _texts(root, f"{delivery}/cac:DeliveryParty/cac:Contact/cbc:Name/text()") == ["Örjan Ek"]
    buyer = "/u:Order/cac:BuyerCustomerParty/cac:Party/cac:Contact/cbc:Name/text()"
    assert _texts(root, buyer) == ["Anna Åström"]


def test_a_voucher_on_goods_with_several_vat_rates_is_held() -> None:
    body = _voucher().model_dump(by_alias=True, exclude_none=True)
    body["Items"][1]["VatRate"] = "12"
    reasons = hold_reasons(OrderRequest.model_validate(body), CURRENCIES)
    assert any("several VAT rates (12, 25)" in r for r in reasons)


def test_promotions_are_written_on_their_csv_line() -> None:
    body = sample("order_1001").model_dump(by_alias=True, exclude_none=True)
    body["Items"][0]["Promotions"] = [
        {"Id": 7, "DiscountCode": "SUMMER", "AppliedAmount": "39.60"},
        {"Id": 8, "Name": "Bundle", "AppliedAmount": "5"},
    ]
    lines = [r for r in _csv(OrderRequest.model_validate(body)) if r[0] == "L"]
    assert lines[0][-2:] == ["SUMMER,Bundle", "44,60"]

"""Every amount of an order reaches the ERP: vouchers, fees, and a check that they add up.

Amounts as the layouts read them (docs/layouts.md, "Order files"): item prices and `Fees[].Amount`
are ex VAT; `Discounts[].Amount` (a voucher) and `Payments[].Amount` include VAT.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from lxml import etree

from etl.config.settings import LocalStoreSettings, OrderSettings
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.files.render import render_orders
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.checks import hold_reasons
from etl.to_erp.orders.inbound import OrderInbound
from etl.to_erp.orders.model import OrderRequest
from etl.transport import LocalStore
from tests.fixtures.orders import sample, settings_at, shipped
from tests.support.peppol_validation import fatal, xsd_errors

NS = {
    "u": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CURRENCIES = ("SEK",)
NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


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
    # Total (what is paid), then after the bill-to names OrderExVat and OrderVat:
    # 245.59 - 120.00 = 125.59 and 61.40 - 30.00 = 31.40.
    assert head[-6:] == ["156,99", "Anna", "Åström", "", "125,59", "31,40"]


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


# -- review findings (issue 13 items 2-3): wrong money is held, never written ---------------


def _goods(*lines: tuple[str, str, str | None]) -> list[dict[str, Any]]:
    """Goods lines (UnitPrice, UnitVat, VatRate), one of each."""
    items = []
    for number, (price, vat, rate) in enumerate(lines, start=1):
        item = {"LineNo": number, "PartNo": f"P{number}", "Description": f"Item {number}",
                "Quantity": 1, "UnitPrice": price, "UnitVat": vat, "TypeGroup": "Physical"}  # fmt: skip
        if rate is not None:
            item["VatRate"] = rate
        items.append(item)
    return items


def _order(paid: str | None, **changes: Any) -> OrderRequest:
    payments = [] if paid is None else [{"PaymentMethodCode": "CARD", "Amount": paid}]
    return _with("order_1001", Payments=payments, **changes)


def _held_for(order: OrderRequest, *words: str) -> str:
    reasons = hold_reasons(order, CURRENCIES)
    found = [r for r in reasons if all(w in r for w in words)]
    assert found, f"no hold reason with {words}: {reasons}"
    return found[0]


def test_a_fee_without_a_vat_rate_is_held() -> None:
    fee = {"Type": 1, "Description": "Fakturaavgift", "Amount": "20"}
    _held_for(_order("326.99", Fees=[fee]), "Fees[1]", "no VatRate")


def test_a_negative_fee_is_held() -> None:
    fee = {"Type": 1, "Description": "Rabatt", "Amount": "-20", "VatRate": "25"}
    _held_for(_order("281.99", Fees=[fee]), "Fees[1]", "negative")


def test_a_discount_without_an_amount_is_held() -> None:
    _held_for(_order("306.99", Discounts=[{"Type": "Voucher", "Code": "V"}]), "no Amount")


def test_a_negative_total_is_held_even_when_the_payments_match_it() -> None:
    order = _order("-500", Items=_goods(("-400", "-100", "25")))
    _held_for(order, "negative")


def test_a_line_whose_vat_is_not_its_rate_is_held() -> None:
    # UnitVat 100 on 400 is 25 %, not the 12 % the line says.
    _held_for(_order("500", Items=_goods(("400", "100", "12"))), "line 1", "UnitVat")


def test_a_vat_rate_sent_as_a_multiplier_is_held() -> None:
    _held_for(_order("500", Items=_goods(("400", "100", "1.25"))), "line 1", "multiplier")


def test_a_missing_vat_rate_is_derived_from_unit_vat_for_the_voucher_split() -> None:
    voucher = [{"Type": "Voucher", "Code": "V", "Amount": "150"}]
    order = _order("350", Items=_goods(("400", "100", None)), Discounts=voucher)
    assert hold_reasons(order, CURRENCIES) == []
    discounts = [r for r in _csv(order) if r[0] == "D"]
    assert discounts == [["D", "1001", "Voucher", "V", "150,00", "120,00", "30,00"]]
    document = render_orders(shipped("peppol_order"), [order])
    root = etree.fromstring(document)
    assert _texts(root, "/u:Order/cac:AllowanceCharge/cac:TaxCategory/cbc:ID/text()") == ["S"]
    assert _texts(root, "/u:Order/cac:TaxTotal/cbc:TaxAmount/text()") == ["70.00"]
    assert (fatal(document), xsd_errors(document)) == ([], [])


def test_a_voucher_on_goods_without_any_vat_rate_is_held() -> None:
    # No VatRate and no UnitVat (as Norce Query sends them): the split is not known.
    items = _goods(("400", "100", None))
    del items[0]["UnitVat"]
    voucher = [{"Type": "Voucher", "Code": "V", "Amount": "150"}]
    _held_for(_order(None, Items=items, Discounts=voucher), "split")


def test_a_negative_voucher_counts_as_money_off() -> None:
    assert hold_reasons(_voucher(amount="-150"), CURRENCIES) == []
    line = next(r for r in _csv(_voucher(amount="-150")) if r[0] == "D")
    assert line[4:] == ["150,00", "120,00", "30,00"]


def test_a_voucher_on_zero_rated_goods_is_zero_rated() -> None:
    voucher = [{"Type": "Voucher", "Code": "V", "Amount": "50"}]
    order = _order("350", Items=_goods(("400", "0", "0")), Discounts=voucher)
    assert hold_reasons(order, CURRENCIES) == []
    root = _ubl(order)
    assert _texts(root, "/u:Order/cac:AllowanceCharge/cac:TaxCategory/cbc:ID/text()") == ["Z"]


def test_a_voucher_is_split_at_the_goods_rate_not_the_freight_rate() -> None:
    items = _goods(("100", "12", "12"))
    items.append({"LineNo": 2, "PartNo": "FREIGHT", "Quantity": 1, "UnitPrice": "40",
                  "UnitVat": "10", "VatRate": "25", "Type": "Freight", "TypeGroup": "Fee"})  # fmt: skip
    voucher = [{"Type": "Voucher", "Code": "V", "Amount": "56"}]
    order = _order("106", Items=items, Discounts=voucher)
    assert hold_reasons(order, CURRENCIES) == []
    line = next(r for r in _csv(order) if r[0] == "D")
    assert line[4:] == ["56,00", "50,00", "6,00"]


def test_fees_in_both_items_and_fees_are_held_as_a_likely_duplicate() -> None:
    # order_1001 has freight 39.20 as a fee line; the same freight again in Fees[].
    fee = {"Type": 0, "Description": "Frakt", "Amount": "39.20", "VatRate": "25"}
    reason = _held_for(_order(None, Fees=[fee]), "Fees[1]", "line 3", "twice")
    assert "39.20" in reason


def test_the_hold_message_follows_the_sign_of_the_difference() -> None:
    more = _held_for(_order("400.00"), "do not add up")
    assert "missing from the order" in more
    less = _held_for(_order("200.00"), "do not add up")
    assert "missing from the order" not in less and "more than was paid" in less


def test_a_cent_per_amount_is_allowed_and_no_more() -> None:
    # order_1001: three lines and one payment -> three cents of slack around 306.99.
    assert hold_reasons(_order("307.02"), CURRENCIES) == []
    assert hold_reasons(_order("306.96"), CURRENCIES) == []
    _held_for(_order("307.03"), "do not add up")
    _held_for(_order("306.95"), "do not add up")


def test_the_csv_head_keeps_its_columns_and_their_meaning() -> None:
    # Before issue 13 the H line ended ..., GiftMessage, TotalExVat (sum of the L lines),
    # TotalVat (their VAT); every new column comes after those, so an ERP reading by
    # position still finds what it found.
    text = render_orders(shipped("erp_csv"), [_voucher()]).decode("cp1252")
    head = next(csv.reader(io.StringIO(text), delimiter=";"))
    assert head[30:33] == ["Grattis på födelsedagen!", "245,59", "61,40"]
    assert head[33:] == ["156,99", "Anna", "Åström", "", "125,59", "31,40"]


def _mixed_rate_voucher_body() -> bytes:
    body = _voucher(paid="156.99").model_dump(by_alias=True, exclude_none=True, mode="json")
    body["Items"][1].update(UnitPrice="100", UnitVat="12", VatRate="12")
    body["Payments"][0]["Amount"] = "209.00"  # 198.00 + 112.00 + 49.00 (freight) - 150
    return json.dumps(body).encode()


def test_a_released_order_whose_money_cannot_be_written_is_held_again_not_sent(
    tmp_path: Path,
) -> None:
    settings = settings_at(tmp_path / "home")
    layouts = load_layouts(settings)
    book = OrderBook(tmp_path / "home" / "state" / "ledger.sqlite")
    spool = Spool(tmp_path / "home" / "state" / "spool" / "orders")
    store = LocalStore("erp", LocalStoreSettings(root=tmp_path / "home" / "erp"))
    inbound = OrderInbound(book, spool, tmp_path / "rejected", OrderSettings(), lambda: NOW)
    try:
        assert inbound.accept(_mixed_rate_voucher_body(), "application/json", "push").status == 200
        order = book.order("1001")
        assert order is not None and order.state == "held"
        assert "several VAT rates" in (order.reason or "")
        assert book.release("1001", "2026-11-22T03:00:00+00:00", "test")
        for name in ("erp_csv", "peppol_order"):
            summary = export_orders(settings, book, spool, store, layouts[name], lambda: NOW)
            assert summary.files == [], f"{name} wrote the order with wrong money"
            assert "several VAT rates" in summary.held["1001"]
            assert "release" in summary.held["1001"]  # says what releasing does now
            book.release("1001", "2026-11-22T03:00:00+00:00", "test")
    finally:
        book.close()

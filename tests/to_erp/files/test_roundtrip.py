"""Round trips: any order rendered to a shipped layout and read back gives the same mapped fields.

Orders are random (hypothesis): names and comments in any characters Windows-1252 holds
(Swedish letters, the delimiter, quotes, line breaks), amounts with two decimals, a goods
line and a freight fee line, payments and a gift message in AdditionalInfo.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from etl.to_erp.files.layout_spec import OrderFormat
from etl.to_erp.files.layouts import Column, Layout
from etl.to_erp.files.readback import read_back
from etl.to_erp.files.render import contexts, decimal_text, prepare, render
from etl.to_erp.files.sources import FieldPath
from etl.to_erp.orders.model import OrderRequest
from tests.fixtures.orders import sample, shipped


def _writable(char: str) -> bool:
    """In Windows-1252, and allowed in XML (tab and line breaks are; other controls are not)."""
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return char in "\t\n\r" or unicodedata.category(char) != "Cc"


ALPHABET = st.characters(codec="cp1252").filter(_writable)
TEXT = st.text(ALPHABET, min_size=1, max_size=25)
OPTIONAL = st.none() | TEXT
REF = st.text(ALPHABET, min_size=1, max_size=20).filter(lambda s: bool(s.strip()))
MONEY = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
QUANTITY = st.integers(min_value=1, max_value=999)
VAT_NOS = st.sampled_from(["SE556036079301", "NO974760673MVA", "DK13585628", "FI02017252"])


@st.composite
def addresses(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "Line1": draw(OPTIONAL),
        "Line2": draw(OPTIONAL),
        "ZipCode": draw(OPTIONAL),
        "City": draw(OPTIONAL),
        "Country": draw(st.none() | st.sampled_from(["SE", "NO", "DK", "FI"])),
        "CareOf": draw(OPTIONAL),
        "ShippingPhoneNumber": draw(OPTIONAL),
    }


@st.composite
def customers(draw: st.DrawFn) -> dict[str, Any]:
    # A company always has a VAT number PEPPOL can use: one without is held, not written.
    company = draw(st.none() | st.fixed_dictionaries({"Code": OPTIONAL, "Name": OPTIONAL,
                                                       "VatNo": VAT_NOS}))  # fmt: skip
    person = {
        "CustomerCode": draw(OPTIONAL),
        "FirstName": draw(OPTIONAL),
        "LastName": draw(OPTIONAL),
        "Email": draw(OPTIONAL),
        "CellPhone": draw(OPTIONAL),
        "Address": draw(addresses()),
    }
    return {"Company": company, "Person": person}


@st.composite
def items(draw: st.DrawFn) -> list[dict[str, Any]]:
    goods = [
        {
            "LineNo": number,
            "PartNo": draw(TEXT),
            "ErpPartNo": draw(OPTIONAL),
            "Description": draw(OPTIONAL),
            "Quantity": draw(QUANTITY),
            "UnitOfMeasure": draw(OPTIONAL),
            "UnitPrice": draw(MONEY),
            "Discount": draw(st.none() | MONEY),
            "UnitVat": draw(MONEY),
            "VatRate": draw(st.sampled_from([Decimal(25), Decimal(12), Decimal(6), Decimal(0)])),
            "Type": "ErpStandard",
            "Comment": draw(OPTIONAL),
        }
        for number in range(1, draw(st.integers(min_value=1, max_value=3)) + 1)
    ]
    freight = {"LineNo": len(goods) + 1, "PartNo": "FREIGHT", "Description": "Frakt",
               "Quantity": 1, "UnitPrice": draw(MONEY), "UnitVat": draw(MONEY),
               "VatRate": Decimal(25), "Type": "Freight", "TypeGroup": "Fee"}  # fmt: skip
    return [*goods, freight]


@st.composite
def orders(draw: st.DrawFn) -> OrderRequest:
    day = draw(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)))
    payments = [
        {"PaymentMethodCode": draw(TEXT), "PaymentRef": draw(OPTIONAL), "Amount": draw(MONEY),
         "CurrencyCode": "SEK"}
        for _ in range(draw(st.integers(min_value=0, max_value=2)))
    ]  # fmt: skip
    gift = draw(OPTIONAL)
    body = {
        "ClientOrderRef": draw(REF),
        "SubmitDate": day,
        "CurrencyCode": draw(st.sampled_from(["SEK", "NOK", "EUR"])),
        "CustomerOrderRef": draw(OPTIONAL),
        "CustomerOrderComment": draw(OPTIONAL),
        "SellTo": draw(customers()),
        "BillTo": draw(customers()),
        "ShipTo": draw(customers()),
        "ShippingAdvice": {"DeliveryMethodCode": draw(OPTIONAL)},
        "Payments": payments,
        "Items": draw(items()),
        "AdditionalInfo": [{"Code2": "GiftMessage", "Value": gift}] if gift else [],
    }
    return OrderRequest.model_validate(body)


def mapped(layout: Layout, order: OrderRequest) -> list[tuple[str, object]]:
    """Every value the layout takes from an order field, as it means it (the file's view)."""
    out = []
    for record in layout.records:
        for ctx in contexts(record, order):
            for column in record.columns:
                if isinstance(column.source, FieldPath):
                    value = column.source.value(ctx)
                    out.append((f"{record.name}:{ctx.position}:{column.name}",
                                _meaning(value, column, layout.format)))  # fmt: skip
    return out


def _meaning(value: object, column: Column, fmt: OrderFormat) -> object:
    if value is None or value == "":
        return None  # an empty text and a missing one are the same cell
    if isinstance(value, dt.datetime):
        return value.strftime(column.date_format or fmt.date_format)  # the file holds the day
    if isinstance(value, Decimal):
        return Decimal(decimal_text(value, column.decimals, "."))
    return value


def round_trip(layout: Layout, batch: list[OrderRequest]) -> list[OrderRequest]:
    prepared = [prepare(layout, order) for order in batch]
    # Windows-1252 text fits as it is: nothing held, nothing transliterated.
    assert [(p.unfit, p.changed) for p in prepared] == [((), ())] * len(batch)
    return read_back(layout, render(layout, prepared))


@settings(max_examples=60, deadline=None)
@given(st.lists(orders(), min_size=1, max_size=3))
def test_a_csv_batch_reads_back_as_the_same_orders(batch: list[OrderRequest]) -> None:
    layout = shipped("erp_csv")
    back = round_trip(layout, batch)
    assert [mapped(layout, o) for o in back] == [mapped(layout, o) for o in batch]
    for original, again in zip(batch, back, strict=True):
        assert again.client_order_ref == original.client_order_ref
        assert [i.unit_price for i in again.items] == [i.unit_price for i in original.items]
        assert again.items[-1].part_no == "FREIGHT" and again.items[-1].is_fee
        assert again.info("GiftMessage") == original.info("GiftMessage")


@settings(max_examples=60, deadline=None)
@given(orders())
def test_a_peppol_order_reads_back_as_the_same_order(order: OrderRequest) -> None:
    layout = shipped("peppol_order")
    # A company only in BillTo is no buyer with an identifier: held, not written.
    assume(not prepare(layout, order).wrong)
    (back,) = round_trip(layout, [order])
    assert mapped(layout, back) == mapped(layout, order)
    assert [i.part_no for i in back.items] == [i.part_no for i in order.items]
    assert [i.quantity for i in back.items] == [i.quantity for i in order.items]


@pytest.mark.parametrize(
    ("layout_name", "order_name"),
    [("erp_csv", "order_1001"), ("peppol_order", "order_1001"), ("peppol_order", "order_1002")],
)
def test_the_sample_orders_read_back(layout_name: str, order_name: str) -> None:
    layout, order = shipped(layout_name), sample(order_name)
    (back,) = read_back(layout, render(layout, [prepare(layout, order)]))
    assert mapped(layout, back) == mapped(layout, order)


def test_a_transliterated_name_reads_back_as_written() -> None:
    layout, order = shipped("erp_csv"), sample("order_1002")
    (back,) = read_back(layout, render(layout, [prepare(layout, order)]))
    assert order.sell_to and order.sell_to.person and order.sell_to.person.first_name == "Łukasz"
    assert back.sell_to and back.sell_to.person and back.sell_to.person.first_name == "Lukasz"

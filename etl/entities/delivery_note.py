"""Delivery notes -> Norce `Order/CreateDeliveryNote` (reference section 13).

One row per delivered line, the note's head repeated on each. Parcel (tracking) numbers come
with the lines they travelled in; the note's packages are the distinct ones, in file order.
An order may have several notes (part deliveries): each has its own number.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from etl.entities.base import EntityOptions
from etl.entities.checks import QUANTITY, code, quantity
from etl.entities.document import Body, Document, DocumentEntity, drop_nulls
from etl.entities.payloads import json_value


def _text(max_len: int) -> pa.Column:
    return pa.Column(pl.String, [pa.Check.str_length(1, max_len)], nullable=True)


SCHEMA = pa.DataFrameSchema(
    {
        # head
        "note_no": pa.Column(pl.String, code(), nullable=False),
        "order_no": pa.Column(pl.String, code(), nullable=False),
        "delivery_date": pa.Column(pl.Date, nullable=False),
        "delivery_mode": _text(50),
        "delivery_name": _text(100),
        "delivery_attention": _text(100),
        "address_line1": _text(100),
        "address_line2": _text(100),
        "zip_code": _text(20),
        "city": _text(100),
        "country": pa.Column(pl.String, [pa.Check.str_matches(r"^[A-Z]{2}$")], nullable=True),
        "buyer_company_code": _text(50),
        "buyer_customer_code": _text(50),
        "note_text": _text(1000),
        # lines
        "row_no": pa.Column(pl.Int32, [pa.Check.in_range(1, 99_999)], nullable=False),
        "item_no": pa.Column(pl.String, code(), nullable=False),
        "description": _text(255),
        "qty": pa.Column(QUANTITY, quantity(), nullable=False),
        "comment": _text(255),
        "parcel_no": _text(50),
    },
    strict=False,
    name="delivery_note",
)
HEAD = (
    "note_no", "order_no", "delivery_date", "delivery_mode", "delivery_name",
    "delivery_attention", "address_line1", "address_line2", "zip_code", "city", "country",
    "buyer_company_code", "buyer_customer_code", "note_text",
)  # fmt: skip


class DeliveryNoteOptions(EntityOptions):
    """Delivery notes take no options yet."""


def build_body(document: Document, options: EntityOptions) -> Body:
    """The CreateDeliveryNote body, spelled as the C# contract spells it."""
    head = document.head
    address = drop_nulls(
        {
            "Line1": head["address_line1"],
            "Line2": head["address_line2"],
            "ZipCode": head["zip_code"],
            "City": head["city"],
            "Country": head["country"],
        }
    )
    items = [
        drop_nulls(
            {
                "RowNumber": line["row_no"],
                "ItemNo": line["item_no"],
                "Description": line["description"],
                "Qty": json_value(line["qty"]),
                "Comment": line["comment"],
            }
        )
        for line in document.lines
    ]
    parcels = dict.fromkeys(line["parcel_no"] for line in document.lines if line["parcel_no"])
    return drop_nulls(
        {
            # [I] OrderNo is the ERP order number, known to Norce from SendOrderStatus.
            "OrderNo": head["order_no"],
            "NoteNo": head["note_no"],
            "DeliveryDate": json_value(head["delivery_date"]),
            "DeliveryMode": head["delivery_mode"],
            "DeliveryName": head["delivery_name"],
            "DeliveryAttention": head["delivery_attention"],
            "DeliveryAddress": address,
            "BuyerCompanyCode": head["buyer_company_code"],
            "BuyerCustomerCode": head["buyer_customer_code"],
            "NoteText": head["note_text"],
            "DeliveryNoteItems": items,
            "DeliveryNotePackages": [{"ParcelNumber": p} for p in parcels],
        }
    )


DELIVERY_NOTE = DocumentEntity(
    name="delivery_note",
    schema=SCHEMA,
    key=("note_no", "row_no"),
    options_model=DeliveryNoteOptions,
    labels={
        "note_no": "Delivery note number (Norce NoteNo)",
        "order_no": "The ERP's order number the note belongs to (Norce OrderNo)",
        "delivery_date": "Date the goods left (Norce DeliveryDate)",
        "delivery_mode": "Carrier or delivery method (Norce DeliveryMode)",
        "delivery_name": "Name of the receiver",
        "delivery_attention": "Attention line of the delivery address",
        "address_line1": "Delivery address, first line",
        "address_line2": "Delivery address, second line",
        "zip_code": "Delivery postal code",
        "city": "Delivery city",
        "country": "Delivery country, two capital letters (ISO 3166), e.g. SE",
        "buyer_company_code": "Buyer's company code (Norce BuyerCompanyCode)",
        "buyer_customer_code": "Buyer's customer code (Norce BuyerCustomerCode)",
        "note_text": "Text printed on the note",
        "row_no": "Line number on the note, a whole number (Norce RowNumber)",
        "item_no": "Article number delivered (Norce ItemNo)",
        "description": "Article text on the note",
        "qty": "Quantity delivered",
        "comment": "Comment on the line",
        "parcel_no": "Parcel (tracking) number the line went in (Norce ParcelNumber)",
    },
    method="Order/CreateDeliveryNote",
    head_fields=HEAD,
    line_key="row_no",
    build_body=build_body,
)

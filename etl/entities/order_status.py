"""Order acknowledgement and status -> Norce `Order/SendOrderStatus` (reference section 12).

The ERP speaks its own status codes; the contract's `options.status_map` says which Norce
OrderStatus each one is, checked against the 21 names of the reference when the contract
loads. A row whose code is not in the map is rejected with the codes that are.

The document number is the contract key (by default the ERP order number and the ERP status
code): a status is sent once per order and code. An ERP that can move an order back to a
status it had before exports a time stamp and puts `status_at` in the contract's key, so
each change is a document of its own.
"""

from __future__ import annotations

from typing import Literal

import pandera.polars as pa
import polars as pl
from pydantic import Field

from etl.entities.base import EntityOptions
from etl.entities.checks import code
from etl.entities.document import (
    Body,
    Document,
    DocumentEntity,
    Problem,
    client_order_ref,
    drop_nulls,
)

# The OrderStatus names in contract order; the index is the id Norce Query shows as StatusId.
ORDER_STATUSES = (
    "Created", "Allocation", "Confirmed", "BackOrder", "Delivered", "Invoiced", "Cancelled",
    "CreditControl", "PartlyDelivered", "Acknowledged", "ErpConfirmed", "ReadyForPickup",
    "PickedUp", "NotPickedUp", "OnHold", "WaitingForCancel", "WaitingForOnHoldRemoved",
    "CancelError", "AcknowledgementError", "ReadyForReservation", "Reserved",
)  # fmt: skip
OrderStatus = Literal[
    "Created", "Allocation", "Confirmed", "BackOrder", "Delivered", "Invoiced", "Cancelled",
    "CreditControl", "PartlyDelivered", "Acknowledged", "ErpConfirmed", "ReadyForPickup",
    "PickedUp", "NotPickedUp", "OnHold", "WaitingForCancel", "WaitingForOnHoldRemoved",
    "CancelError", "AcknowledgementError", "ReadyForReservation", "Reserved",
]  # fmt: skip

SCHEMA = pa.DataFrameSchema(
    {
        "erp_order_no": pa.Column(pl.String, code(), nullable=False),
        "client_order_ref": client_order_ref(),
        "status_code": pa.Column(pl.String, [pa.Check.str_length(1, 50)], nullable=False),
        "status_at": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
    },
    strict=False,
    name="order_status",
)


class OrderStatusOptions(EntityOptions):
    """`[options.status_map]`: ERP status code -> Norce OrderStatus name."""

    status_map: dict[str, OrderStatus] = Field(min_length=1)


def status_id(name: str) -> int:
    """The number Norce (and Query's StatusId) uses for an OrderStatus name."""
    return ORDER_STATUSES.index(name)


def norce_status(document: Document, options: OrderStatusOptions) -> str | None:
    """The Norce OrderStatus the document's ERP code maps to, None when the map lacks it."""
    return options.status_map.get(str(document.head["status_code"]))


def check(document: Document, options: EntityOptions) -> list[Problem]:
    """A status code the contract's map does not translate cannot be sent."""
    assert isinstance(options, OrderStatusOptions)
    if norce_status(document, options) is not None:
        return []
    known = ", ".join(sorted(options.status_map))
    code_ = document.head["status_code"]
    return [
        Problem(
            "status_code",
            "enum",
            f"ERP status {code_!r} has no Norce status in the contract's options.status_map "
            f"(mapped: {known}); add it there or fix the export",
        )
    ]


def build_body(document: Document, options: EntityOptions) -> Body:
    """The SendOrderStatus body: ClientOrderRef (int) when known, ErpOrderNo, OrderStatus."""
    assert isinstance(options, OrderStatusOptions)
    status = norce_status(document, options)
    if status is None:
        raise ValueError(f"status code {document.head['status_code']!r} is not mapped")
    return drop_nulls(
        {
            "ClientOrderRef": document.client_order_ref,
            "ErpOrderNo": document.head["erp_order_no"],
            "OrderStatus": status,
        }
    )


ORDER_STATUS = DocumentEntity(
    name="order_status",
    schema=SCHEMA,
    key=("erp_order_no", "status_code"),
    options_model=OrderStatusOptions,
    labels={
        "erp_order_no": "The ERP's order number (Norce ErpOrderNo)",
        "client_order_ref": "Norce's order number, the basket id (Norce ClientOrderRef, a whole number)",
        "status_code": "The ERP's status code, translated by the contract's options.status_map",
        "status_at": "When the order got this status (only used to tell repeated statuses apart)",
    },
    method="Order/SendOrderStatus",
    head_fields=("erp_order_no", "client_order_ref", "status_code", "status_at"),
    build_body=build_body,
    check=check,
)

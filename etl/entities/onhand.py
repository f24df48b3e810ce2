"""Stock on hand per SKU, warehouse and location -> Norce `Product/ImportOnhands`."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from etl.entities.base import Entity, EntityOptions
from etl.entities.checks import QUANTITY, code, quantity
from etl.entities.payloads import ACTIVE_FLAG, ACTIVE_LABEL, FlatImport

SCHEMA = pa.DataFrameSchema(
    {
        "part_no": pa.Column(pl.String, code(), nullable=False),
        "warehouse_code": pa.Column(pl.String, code(), nullable=False),
        "location_code": pa.Column(pl.String, code(), nullable=False),
        # ERPs do report negative stock (oversold); Norce takes any decimal.
        "onhand_value": pa.Column(QUANTITY, quantity(negative=True), nullable=False),
        "incoming_value": pa.Column(QUANTITY, quantity(), nullable=True),
        "next_delivery_date": pa.Column(pl.Date, nullable=True),
        "lead_time_days": pa.Column(pl.Int32, [pa.Check.in_range(0, 3650)], nullable=True),
        **ACTIVE_FLAG,
    },
    strict=False,
    name="onhand",
)

IMPORT = FlatImport(
    method="Product/ImportOnhands",
    fields_header="SkuOnhandFieldsThatAreSet",
    identity={
        "PartNo": "part_no",
        "WarehouseCode": "warehouse_code",
        "LocationCode": "location_code",
    },
    values={
        "onhand_value": ("OnhandValue", 3),
        "incoming_value": ("IncomingValue", 4),
        "next_delivery_date": ("NextDeliveryDate", 5),
        "lead_time_days": ("LeadTimeDayCount", 6),
    },
    is_active=10,
)


class OnhandOptions(EntityOptions):
    """On-hand takes no options yet."""


ONHAND = Entity(
    name="onhand",
    schema=SCHEMA,
    key=("part_no", "warehouse_code", "location_code"),
    options_model=OnhandOptions,
    build_calls=IMPORT.build,
    labels={
        "part_no": "Article number (Norce PartNo)",
        "warehouse_code": "Warehouse code as set up in Norce",
        "location_code": "Location code inside the warehouse",
        "onhand_value": "Quantity on the shelf",
        "incoming_value": "Quantity ordered from suppliers, not yet received",
        "next_delivery_date": "Date the next delivery is expected",
        "lead_time_days": "Lead time in days",
        **ACTIVE_LABEL,
    },
)

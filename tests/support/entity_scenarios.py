"""One delta per entity holding every kind of change, built by diff() from plain rows.

Each scenario has: an add, a one-field change (two rows, one group), a two-field change (its
own group), an unchanged row, a reactivation and a removal. Golden files under tests/golden/
hold the calls these deltas must become.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from etl.entities import CallContext, Entity
from etl.entities.calls import NorceCall
from etl.models import INACTIVE, STATE, Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.frames import (
    COMPANY,
    CUSTOMER,
    ONHAND,
    PRICE,
    PRODUCT,
    company,
    customer,
    file_rows,
    keys,
    onhand,
    price,
    product,
    snapshot,
)

GONE = {STATE: INACTIVE}
DAY = dt.date(2026, 11, 20)


def _delta(entity: Entity, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Delta:
    return diff(snapshot(entity, old), file_rows(entity, new), keys(entity, []), entity.key, True)


def price_delta() -> Delta:
    """Prices: A and G change the sale price, B two optional costs, C returns, D goes."""
    old = [
        price("A", "99.00", cost_purchase="31.50"),
        price("B", "10", price_recommended="12"),
        price("C", "5", price_list_code="L2", **GONE),
        price("D", "7.25"),
        price("E", "1.10"),
        price("G", "1"),
    ]
    new = [
        price("A", "79.20", cost_purchase="31.50"),
        price("B", "10", cost_purchase="4.5", price_recommended="12.95"),
        price("C", "5.5", price_list_code="L2"),
        price("E", "1.10"),
        price("F", "0.1", quantity_break=10, currency="EUR", cost_unit="0.0500"),
        price("G", "2"),
    ]
    return _delta(PRICE, old, new)


def onhand_delta() -> Delta:
    """Stock: A changes its quantity, B quantity and delivery date, C returns, D goes."""
    old = [
        onhand("A", "5"),
        onhand("B", "1", lead_time_days=3),
        onhand("C", "2", location_code="B2", **GONE),
        onhand("D", "9"),
        onhand("E", "4", incoming_value="10", next_delivery_date=DAY),
        onhand("G", "0"),
    ]
    new = [
        onhand("A", "7"),
        onhand("B", "0", lead_time_days=3, next_delivery_date=DAY),
        onhand("C", "2", location_code="B2"),
        onhand("E", "4", incoming_value="10", next_delivery_date=DAY),
        onhand("F", "-2.5", incoming_value="100", next_delivery_date=DAY, lead_time_days=14),
        onhand("G", "12.125"),
    ]
    return _delta(ONHAND, old, new)


def product_delta() -> Delta:
    """Products: A and G change the EAN, B name and weight, C returns, D goes; F and H are new."""
    full = {
        "manufacturer_name": "Acme Tools",
        "manufacturer_part_no": "AG-100",
        "product_code": "CL-1",
        "description": "Work glove",
        "category_code": "GLOVES",
        "vat_rate": "25",
        "weight": "0.35",
    }
    old = [
        product("A", ean="7350000000016"),
        product("B", "Glove L", weight="0.2"),
        product("C", "Glove S", **GONE),
        product("D"),
        product("E", **full),
        product("G"),
    ]
    new = [
        product("A", ean="7350000000023"),
        product("B", "Glove XL", weight="0.25"),
        product("C", "Glove S"),
        product("E", **full),
        product("F", "Arbetshandske", ean="7350000000030", **full),
        product("G", ean="7350000000047"),
        product("H", "Mössa", manufacturer_code="NORD"),
    ]
    return _delta(PRODUCT, old, new)


def company_delta() -> Delta:
    """Companies: A changes its name, B its address (one field), C returns, D goes, F is new."""
    address = {"address_line1": "Storgatan 1", "zip_code": "111 22", "city": "Stockholm"}
    old = [
        company("A", "Bygg AB"),
        company("B", "Snickeri AB", **address),
        company("C", "Tak AB", **GONE),
        company("D", "Gone AB"),
        company("E", "Same AB", price_list_code="AGR-1"),
    ]
    new = [
        company("A", "Byggmästarna AB"),
        company("B", "Snickeri AB", **{**address, "city": "Solna"}),
        company("C", "Tak AB"),
        company("E", "Same AB", price_list_code="AGR-1"),
        company(
            "F",
            "Fjordbygg AS",
            organization_no="923609016",
            country="NO",
            vat_no="NO923609016MVA",
            email="post@fjordbygg.example",
            price_list_code="AGR-2",
            parent_company_code="A",
            **address,
        ),
    ]
    return _delta(COMPANY, old, new)


def customer_delta() -> Delta:
    """Customers: A moves to company F2, B changes phone and e-mail, C returns, D goes, F is new."""
    old = [
        customer("A", company_code="F1"),
        customer("B", phone="08-1"),
        customer("C", **GONE),
        customer("D"),
        customer("E", social_security_number="19850101-1234"),
    ]
    new = [
        customer("A", company_code="F2"),
        customer("B", phone="08-2", email="bertil@example.se"),
        customer("C"),
        customer("E", social_security_number="19850101-1234"),
        customer("F", "Filip", cell_phone="070-1", company_code="F1", city="Umeå", country="SE"),
    ]
    return _delta(CUSTOMER, old, new)


def build(
    entity: Entity,
    delta: Delta,
    chunk_size: int = 100,
    carried: Collection[str] | None = None,
    create_only: Collection[str] = (),
    **options: Any,
) -> list[NorceCall]:
    """The entity's calls for a delta, account 1001, for a contract carrying `carried` (all).

    `create_only`: the contract's fields the ERP only seeds.
    """
    fields = frozenset(entity.fields() if carried is None else carried)
    options_ = entity.parse_options(options)
    context = CallContext(1001, chunk_size, options_, fields, frozenset(create_only))
    return entity.build_calls(delta, context)

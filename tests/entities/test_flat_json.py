"""Price and on-hand calls encoded by polars are byte for byte what the per-row builder wrote.

`tests/golden/flat_calls_bytes.json` was written by FlatImport when it made one Python dict
per item and `json.dumps` of each call (the code before issue 18); `python -m
tests.entities.test_flat_json` prints the same document from today's code. The deltas have
what the encoder must get right: optional amounts null or set, a change that empties a value
beside one that sets it (one group, nulls per row), a change of the currency alone (identity
only: the values held are re-sent), quotes, backslashes and control characters in codes,
amounts 0.0001, 12.50, 1.00, -0 and large ones, dates, rows the ERP marks inactive,
reactivations, removals, and chunks that cut groups.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from etl.entities import Entity
from etl.models import INACTIVE, STATE, Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build
from tests.support.frames import ONHAND, PRICE, file_rows, keys, onhand, price, snapshot

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "flat_calls_bytes.json"
ODD = 'P"1\\x\nline\ttab \x01\x1f \x7f \u2028 é € 🧤'
GONE = {STATE: INACTIVE}
DAY = dt.date(2026, 11, 20)
OPTIONAL = {"cost_purchase": "31.50", "cost_unit": "0.0001", "price_recommended": "12.50"}


def _price_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The snapshot's price rows and the file's."""
    old = [
        price("C1", "99.00", **OPTIONAL),
        price("C2", "10", cost_purchase="4.5"),
        price("C3", "5", **OPTIONAL),
        price("C4", "1.00", currency="SEK", cost_unit="2"),
        price("C5", "3", price_catalog="7"),
        price("R1", "5", price_list_code="L2", **GONE),
        price("R2", "6", cost_purchase="1", **GONE),
        price("X1", "7.25"),
        price(ODD, "8", price_list_code='L"\\\x02'),
        price("S1", "1"),
    ]
    new = [
        price("A1", "0.0001", quantity_break=10, currency="EUR", cost_unit="0.0500"),
        price("A2", "12.50", cost_purchase="-0.0000", price_previous="99999999999.9999"),
        price("A3", "1.00", **OPTIONAL, price_catalog="0", is_active=False),
        price("A4", "2", is_active=True, price_previous="1.00"),
        price(ODD, "3", price_list_code="L\u2028\\"),
        price("C1", "99.00", cost_purchase=None, cost_unit="0.0001", price_recommended="12.50"),
        price("C2", "10", cost_purchase="4.50"),
        price("C3", "5", cost_purchase="31.50", cost_unit=None, price_recommended="13"),
        price("C4", "1.00", currency="EUR", cost_unit="2"),
        price("C5", "3.5", price_catalog=None),
        price("R1", "5.5", price_list_code="L2"),
        price("R2", "6", is_active=False),
        price("S1", "1"),
    ]
    return old, new


def _onhand_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The snapshot's stock rows and the file's."""
    old = [
        onhand("C1", "5", incoming_value="10", next_delivery_date=DAY, lead_time_days=3),
        onhand("C2", "1", lead_time_days=3),
        onhand("C3", "2", incoming_value="1"),
        onhand("R1", "2", location_code="B2", **GONE),
        onhand("X1", "9"),
        onhand("X2", "1", warehouse_code='W"\\\x03'),
        onhand("S1", "0"),
    ]
    new = [
        onhand("A1", "-2.5", incoming_value="100", next_delivery_date=DAY, lead_time_days=14),
        onhand("A2", "0.0001", warehouse_code=ODD, location_code="L\\\"'"),
        onhand("A3", "-0.0000", incoming_value="12.50", is_active=False),
        onhand("A4", "99999999999.9999", lead_time_days=0, is_active=True),
        onhand("C1", "5", incoming_value=None, next_delivery_date=DAY, lead_time_days=None),
        onhand("C2", "1.00", lead_time_days=3, next_delivery_date=DAY),
        onhand("C3", "0", incoming_value="1.0"),
        onhand("R1", "3", location_code="B2", incoming_value="4"),
        onhand("S1", "0"),
    ]
    return old, new


def _delta(entity: Entity, rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> Delta:
    old, new = rows
    return diff(snapshot(entity, old), file_rows(entity, new), keys(entity, []), entity.key, True)


def _calls(entity: Entity, **build_args: Any) -> list[dict[str, Any]]:
    rows = _price_rows() if entity is PRICE else _onhand_rows()
    calls = build(entity, _delta(entity, rows), **build_args)
    return [
        {"label": c.label, "header": c.header_line(), "body": c.body_bytes().decode()}
        for c in calls
    ]


CASES: dict[str, tuple[Entity, dict[str, Any]]] = {
    "prices": (PRICE, {}),
    "prices in chunks of two": (PRICE, {"chunk_size": 2}),
    "prices, some fields carried": (
        PRICE,
        {"carried": ["part_no", "price_list_code", "quantity_break", "price_sale", "cost_unit"]},
    ),
    "prices, currency not carried": (
        PRICE,
        {"carried": ["part_no", "price_list_code", "quantity_break", "price_sale", "is_active"]},
    ),
    "on-hand": (ONHAND, {}),
    "on-hand in chunks of one": (ONHAND, {"chunk_size": 1}),
    "on-hand, some fields carried": (
        ONHAND,
        {"carried": ["part_no", "warehouse_code", "location_code", "next_delivery_date"]},
    ),
}


def document() -> dict[str, list[dict[str, Any]]]:
    """Every case's calls: label, header line and body text."""
    return {name: _calls(entity, **args) for name, (entity, args) in CASES.items()}


def test_calls_are_byte_for_byte_those_of_the_python_builder() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert document() == golden


def test_items_decode_to_the_body() -> None:
    for entity, rows in ((PRICE, _price_rows()), (ONHAND, _onhand_rows())):
        for call in build(entity, _delta(entity, rows), chunk_size=3):
            assert json.loads(call.body_bytes()) == list(call.items)
            assert [call.items[n] for n in range(len(call.items))] == list(call.items)


if __name__ == "__main__":
    print(json.dumps(document(), indent=1, ensure_ascii=False))

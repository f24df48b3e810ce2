"""Product calls encoded by polars are byte for byte what the per-row Python builder wrote.

`tests/golden/product_calls_bytes.json` was written by the builder that made one Python dict
per item and `json.dumps` of each call (the code before issue 18); `python -m
tests.entities.test_product_json` prints the same document from today's code. The delta has
what the encoder must get right: nulls in every optional place, changes that empty a field
beside changes that set it (one group, nulls per row), quotes, backslashes, control
characters, `null` as text, an empty manufacturer article number, amounts from 0.0001 to
99999999999.9999, integral and negative-zero amounts, dates, rows the ERP marks inactive,
reactivations, dormant rows back, removals, and chunks that cut groups.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from etl.models import DORMANT, INACTIVE, STATE
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "product_calls_bytes.json"
START = dt.datetime(2026, 3, 1, 6, 30, tzinfo=dt.UTC)
FULL = {
    "manufacturer_name": "Acme Tools",
    "manufacturer_part_no": "AG-100",
    "product_code": "CL-1",
    "description": "Work glove",
    "category_code": "GLOVES",
    "ean": "7350000000016",
    "vat_rate": "25",
    "weight": "0.35",
    "start_date": START,
}


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The snapshot's rows and the file's rows."""
    odd = 'Glove "Pro" \\ edge\nline\ttab \x01\x1f \x7f \u2028 é € 🧤'
    old = [
        product("C1", **FULL),
        product("C2", **FULL),
        product("C3", **FULL),
        product("C4", **{**FULL, "weight": "1.00"}),
        product("R1", "Back", **{STATE: INACTIVE}, **FULL),
        product("R2", "Back", **{STATE: INACTIVE}),
        product("D1", "Dormant", **{STATE: DORMANT}, **FULL),
        product("X1", **FULL),
        product("X2"),
    ]
    new = [
        product("A1", odd, **{**FULL, "description": "null", "weight": "0.0001"}),
        product("A2", **{**FULL, "manufacturer_part_no": "", "weight": "99999999999.9999"}),
        product("A3", "Only name"),
        product("A4", **{**FULL, "weight": "12.50", "vat_rate": "12.5", "is_active": False}),
        product("A5", **{**FULL, "weight": "-0.0000", "stop_date": START, "is_active": True}),
        product("A6", manufacturer_name="Bright", category_code="CAT-2", weight="7"),
        product("C1", **{**FULL, "ean": None, "weight": None}),
        product("C2", **{**FULL, "ean": "7350000000023", "weight": "2.5"}),
        product("C3", **{**FULL, "category_code": None, "description": None}),
        product("C4", **{**FULL, "product_code": None, "name": "Renamed"}),
        product("R1", "Back", **{**FULL, "ean": None}),
        product("R2", "Back"),
        product("D1", "Dormant", **{**FULL, "weight": "3"}),
    ]
    return old, new


def _calls(**build_args: Any) -> list[dict[str, Any]]:
    old, new = _rows()
    delta = diff(
        snapshot(PRODUCT, old), file_rows(PRODUCT, new), keys(PRODUCT, []), ["part_no"], True
    )
    calls = build(PRODUCT, delta, **build_args)
    return [
        {"label": c.label, "header": c.header_line(), "body": c.body_bytes().decode()}
        for c in calls
    ]


CASES: dict[str, dict[str, Any]] = {
    "all fields": {},
    "chunks of two": {"chunk_size": 2},
    "some fields carried": {
        "carried": ["part_no", "manufacturer_code", "name", "weight", "ean", "is_active"]
    },
    "name and category create-only": {"create_only": ["name", "category_code"]},
    "another culture and area": {"culture": "nb-NO", "sales_area": 2, "new_status": "Hidden"},
}


def document() -> dict[str, list[dict[str, Any]]]:
    """Every case's calls: label, header line and body text."""
    return {name: _calls(**args) for name, args in CASES.items()}


def test_calls_are_byte_for_byte_those_of_the_python_builder() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert document() == golden


def test_items_decode_to_the_body() -> None:
    old, new = _rows()
    delta = diff(
        snapshot(PRODUCT, old), file_rows(PRODUCT, new), keys(PRODUCT, []), ["part_no"], True
    )
    for call in build(PRODUCT, delta, chunk_size=3):
        assert json.loads(call.body_bytes()) == list(call.items)
        assert [call.items[n] for n in range(len(call.items))] == list(call.items)
        assert call.items[-1] == list(call.items)[-1]


if __name__ == "__main__":
    print(json.dumps(document(), indent=1, ensure_ascii=False))

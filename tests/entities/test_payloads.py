"""Norce payloads per entity, against golden files and against the rules of the reference.

The golden files (tests/golden/<entity>_delta.json) were checked by hand against
reference/norce-connect.md sections 3, 4 and 6. Numbers are compared as exact decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from etl.entities import ENTITIES
from etl.entities.calls import NorceCall
from etl.models import Delta
from tests.support.entity_scenarios import (
    build,
    company_delta,
    customer_delta,
    onhand_delta,
    price_delta,
    product_delta,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SCENARIOS: dict[str, Callable[[], Delta]] = {
    "price": price_delta,
    "onhand": onhand_delta,
    "product": product_delta,
    "company": company_delta,
    "customer": customer_delta,
}
# Customer imports have no FullFile at all (reference section 7): nothing to deactivate by absence.
WITHOUT_FULL_FILE = {"company", "customer"}
FIELDS_THAT_ARE_SET = re.compile(r"FieldsThatAreSet$")


def scenario_calls(entity: str) -> list[NorceCall]:
    return build(ENTITIES[entity], SCENARIOS[entity]())


def as_json(call: NorceCall) -> dict[str, Any]:
    return {
        "label": call.label,
        "method": call.method,
        "header": call.header_line(),
        "items": json.loads(call.body_bytes(), parse_float=Decimal),
    }


def walk(value: object) -> Iterator[object]:
    """Every value in a JSON tree, containers included."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


@pytest.mark.parametrize("entity", SCENARIOS)
def test_calls_match_the_golden_file(entity: str) -> None:
    golden = json.loads(
        (GOLDEN / f"{entity}_delta.json").read_text(encoding="utf-8"), parse_float=Decimal
    )
    assert [as_json(c) for c in scenario_calls(entity)] == golden


@pytest.mark.parametrize("entity", SCENARIOS)
def test_every_call_is_a_delta_with_a_one_line_header(entity: str) -> None:
    calls = scenario_calls(entity)
    assert calls
    for call in calls:
        line = call.header_line()
        assert "\n" not in line and "\r" not in line and ": " not in line and ", " not in line
        assert json.loads(line) == call.header
        if entity in WITHOUT_FULL_FILE:
            assert "FullFile" not in call.header
        else:
            assert call.header["FullFile"] is False
        assert call.header["AccountId"] == 1001
        for name, numbers in call.header.items():
            if FIELDS_THAT_ARE_SET.search(name):
                assert numbers and numbers == sorted(set(numbers)), (name, numbers)


@pytest.mark.parametrize("entity", SCENARIOS)
def test_items_never_hold_nulls(entity: str) -> None:
    for call in scenario_calls(entity):
        body = json.loads(call.body_bytes())
        assert all(v is not None for v in walk(body)), call.label
        assert b"null" not in call.body_bytes()


@pytest.mark.parametrize("entity", SCENARIOS)
def test_labels_are_numbered_in_sending_order(entity: str) -> None:
    labels = [c.label for c in scenario_calls(entity)]
    assert [int(label[:4]) for label in labels] == list(range(1, len(labels) + 1))
    kinds = [label.split("-", 2)[2] for label in labels]
    assert kinds == sorted(kinds, key=["add", "change1", "change2", "reactivate", "remove"].index)


def test_decimals_are_exact_json_numbers() -> None:
    prices = b"".join(c.body_bytes() for c in scenario_calls("price"))
    assert b'"PriceSale":79.2}' in prices and b'"CostUnit":0.05,' in prices
    assert b'"PriceRecommended":12.95}' in prices and b'"PriceSale":2}' in prices
    stock = b"".join(c.body_bytes() for c in scenario_calls("onhand"))
    assert b'"OnhandValue":12.125}' in stock and b'"OnhandValue":-2.5,' in stock
    assert not re.search(rb"\d{6,}", prices + stock)  # no 79.19999999 or 0.0500000001


def test_dates_are_norce_datetimes() -> None:
    dates = [
        item["NextDeliveryDate"]
        for call in scenario_calls("onhand")
        for item in call.items
        if "NextDeliveryDate" in item
    ]
    assert dates and all(d == "2026-11-20T00:00:00" for d in dates)

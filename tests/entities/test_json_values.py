"""Cells become JSON Norce reads exactly: decimals without float noise, dates as datetimes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.entities import ENTITIES, DocumentEntity, Entity
from etl.entities.checks import MAX_AMOUNT
from etl.entities.payloads import json_value


def to_json(value: object) -> str:
    return json.dumps(json_value(value))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("79.2000"), "79.2"),
        (Decimal("0.1000"), "0.1"),
        (Decimal("79.0000"), "79"),
        (Decimal("-2.5000"), "-2.5"),
        (Decimal("99999999999.0000"), "99999999999"),
        (Decimal("12345678901.2345"), "12345678901.2345"),
        (dt.date(2026, 1, 5), '"2026-01-05T00:00:00"'),
        (dt.datetime(2026, 1, 5, 7, 8, 9), '"2026-01-05T07:08:09"'),
        ("007", '"007"'),
        (3, "3"),
        (True, "true"),
    ],
)
def test_json_value(value: object, text: str) -> None:
    assert to_json(value) == text


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=4))
def test_every_decimal_in_range_survives_json_exactly(value: Decimal) -> None:
    assert Decimal(to_json(value)) == value


def decimal_fields() -> list[tuple[Entity, str]]:
    return [
        (entity, field)
        for entity in ENTITIES.values()
        # Documents have the same check in tests/to_norce/documents/test_document_contracts.py.
        if not isinstance(entity, DocumentEntity)
        for field, dtype in entity.fields().items()
        if isinstance(dtype, pl.Decimal)
    ]


def failed_columns(entity: Entity, field: str, value: Decimal) -> set[str]:
    """Columns the entity's schema rejects when one otherwise valid row holds `value`."""
    base = {
        "price": {"part_no": "A", "price_list_code": "L1", "quantity_break": 1, "currency": "SEK"},
        "onhand": {"part_no": "A", "warehouse_code": "W", "location_code": "L"},
        "product": {"part_no": "A", "manufacturer_code": "ACME", "name": "Glove"},
    }[entity.name]
    required = {f: Decimal("1") for f in entity.required_fields() if f not in base}
    row = {**base, **required, field: value}
    frame = pl.DataFrame([row], schema=entity.fields())
    try:
        entity.schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return set(pl.DataFrame(exc.failure_cases)["column"].to_list())
    return set()


@pytest.mark.parametrize(("entity", "field"), decimal_fields(), ids=lambda x: getattr(x, "name", x))
def test_no_decimal_field_accepts_a_value_json_would_round(entity: Entity, field: str) -> None:
    inexact = Decimal("12345678901234.5678")  # 18 digits: a float keeps only 15-17
    assert Decimal(to_json(inexact)) != inexact  # why the range matters
    assert field in failed_columns(entity, field, inexact)
    assert field in failed_columns(entity, field, -inexact)
    assert field not in failed_columns(entity, field, Decimal("1.5"))


def test_stock_may_go_negative_but_incoming_may_not() -> None:
    onhand = ENTITIES["onhand"]
    assert not failed_columns(onhand, "onhand_value", Decimal(-MAX_AMOUNT))
    assert failed_columns(onhand, "incoming_value", Decimal("-1")) == {"incoming_value"}

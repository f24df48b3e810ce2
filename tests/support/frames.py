"""Small builders for snapshots, files and rejected keys of a real entity, from plain dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from etl.entities import ENTITIES, Entity
from etl.models import ACTIVE, LINE, STATE

Row = Mapping[str, Any]


def _typed(entity: Entity, rows: Iterable[Row]) -> list[dict[str, Any]]:
    fields = entity.fields()
    out = []
    for row in rows:
        unknown = set(row) - set(fields) - {STATE}
        assert not unknown, f"not fields of {entity.name}: {unknown}"
        typed = {f: row.get(f) for f in fields}
        for f, dtype in fields.items():
            if isinstance(dtype, pl.Decimal) and isinstance(typed[f], str | int):
                typed[f] = Decimal(str(typed[f]))
        out.append(typed)
    return out


def file_rows(entity: Entity, rows: Sequence[Row]) -> pl.DataFrame:
    """Valid rows of a file as validate() hands them on: typed fields plus `_line`."""
    frame = pl.DataFrame(_typed(entity, rows), schema=entity.fields(), orient="row")
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(LINE))


def snapshot(entity: Entity, rows: Sequence[Row]) -> pl.DataFrame:
    """A snapshot: typed fields plus `_state` (a row's STATE key, default active)."""
    typed = _typed(entity, rows)
    for target, row in zip(typed, rows, strict=True):
        target[STATE] = row.get(STATE, ACTIVE)
    return pl.DataFrame(typed, schema={**entity.fields(), STATE: pl.String}, orient="row")


def keys(entity: Entity, rows: Sequence[Row]) -> pl.DataFrame:
    """Rejected keys: only the key columns, typed."""
    schema = {k: entity.fields()[k] for k in entity.key}
    return pl.DataFrame([{k: r[k] for k in entity.key} for r in rows], schema=schema, orient="row")


def records(frame: pl.DataFrame, *drop: str) -> list[dict[str, Any]]:
    """Rows as dicts without the named columns, in a stable order (sorted by every column)."""
    kept = frame.drop([c for c in drop if c in frame.columns])
    return kept.sort(kept.columns, nulls_last=True).to_dicts()


PRICE = ENTITIES["price"]
ONHAND = ENTITIES["onhand"]
PRODUCT = ENTITIES["product"]


def price(part_no: str, sale: str = "79.20", **more: Any) -> dict[str, Any]:
    """A price row on list L1, quantity break 1, in SEK unless told otherwise."""
    row: dict[str, Any] = {
        "part_no": part_no,
        "price_list_code": "L1",
        "quantity_break": 1,
        "currency": "SEK",
        "price_sale": sale,
    }
    return {**row, **more}


def onhand(part_no: str, value: str = "5", **more: Any) -> dict[str, Any]:
    """A stock row in warehouse MAIN, location A1 unless told otherwise."""
    row: dict[str, Any] = {
        "part_no": part_no,
        "warehouse_code": "MAIN",
        "location_code": "A1",
        "onhand_value": value,
    }
    return {**row, **more}


def product(part_no: str, name: str = "Glove", **more: Any) -> dict[str, Any]:
    """A product row from manufacturer ACME unless told otherwise."""
    row: dict[str, Any] = {"part_no": part_no, "manufacturer_code": "ACME", "name": name}
    return {**row, **more}


COMPANY = ENTITIES["company"]
CUSTOMER = ENTITIES["customer"]


def company(code: str, name: str = "Bygg AB", **more: Any) -> dict[str, Any]:
    """A Swedish company with a valid organisation number unless told otherwise."""
    row: dict[str, Any] = {
        "code": code,
        "name": name,
        "organization_no": "556036-0793",
        "country": "SE",
    }
    return {**row, **more}


def customer(code: str, first_name: str = "Anna", **more: Any) -> dict[str, Any]:
    """A private customer unless a company_code is given."""
    row: dict[str, Any] = {
        "code": code,
        "first_name": first_name,
        "last_name": "Andersson",
        "email": f"{code.lower()}@example.se",
    }
    return {**row, **more}

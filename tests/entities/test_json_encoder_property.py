"""Bodies written by the JSON tree (etl.entities.json_rows) are what `json.dumps` writes.

Until issue 18's go-live round the items were polars structs encoded by
`struct.json_encode`, then regular expressions cut `null` members and unquoted numbers. Now
each row's text is one concatenation. Held here on generated rows against two truths: a
string as `json.dumps` and as polars' own JSON encoder (the old path) escape it, and whole
product and price calls as `json.dumps` writes the dicts a per-row Python builder makes
(nulls left out, amounts as `json_value` writes them). The rows have unicode, quotes,
backslashes, control characters, nulls (a first member too: the commas then sit only
between the members present), negative zero, large and tiny amounts, dates and rows the ERP
marks inactive; chunks cut the groups.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.entities.json_rows import Text, encode, obj
from etl.entities.payloads import json_value
from etl.entities.price import PRICE
from etl.entities.product import PRODUCT
from etl.models import Delta
from tests.support.entity_scenarios import build

TRICKY = ['"', "\\", '\\"', "\n\r\t\b\f", "\x00\x01\x1f", "\x7f\u2028\u2029", "é € 🧤", "null", ""]
texts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=10))
maybe_texts = st.one_of(st.none(), texts)
EDGES = [Decimal("-0.0000"), Decimal("0.0001"), Decimal("99999999999.9999"), Decimal("12.5000")]
amounts = st.one_of(
    st.none(),
    st.sampled_from(EDGES),
    st.decimals(min_value=-(10**11) + 1, max_value=10**11 - 1, places=4, allow_nan=False),
)
moments = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
    ),
)
flags = st.sampled_from([None, True, False])
MONEY = pl.Decimal(18, 4)
MOMENT = pl.Datetime("us", "UTC")


@settings(max_examples=200)
@given(st.lists(maybe_texts, min_size=1, max_size=20))
def test_a_string_is_escaped_as_json_dumps_and_polars_escape_it(values: list[str | None]) -> None:
    frame = pl.DataFrame({"s": values}, schema={"s": pl.String})
    ours = encode(frame, obj(("S", Text(pl.col("s"))))).to_list()
    polars_own = frame.select(pl.struct(pl.col("s").alias("S")).struct.json_encode()).to_series()
    for value, text, old in zip(values, ours, polars_own.to_list(), strict=True):
        if value is None:
            assert text == "{}"
        else:
            assert text == json.dumps({"S": value}, separators=(",", ":"), ensure_ascii=False)
            assert text == old


PRODUCT_SCHEMA = {
    "part_no": pl.String,
    "manufacturer_code": pl.String,
    "manufacturer_name": pl.String,
    "manufacturer_part_no": pl.String,
    "product_code": pl.String,
    "name": pl.String,
    "description": pl.String,
    "category_code": pl.String,
    "ean": pl.String,
    "vat_rate": MONEY,
    "weight": MONEY,
    "start_date": MOMENT,
    "stop_date": MOMENT,
    "is_active": pl.Boolean,
}
product_rows = st.tuples(
    texts, texts, *[maybe_texts] * 7, amounts, amounts, moments, moments, flags
).map(lambda cells: dict(zip(PRODUCT_SCHEMA, cells, strict=True)))


def _kept(pairs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pairs.items() if v is not None}


def _product_item(row: dict[str, Any]) -> dict[str, Any]:
    """An add's item as a per-row Python builder makes it (default options)."""
    vat = row["vat_rate"]
    sku = {
        "PartNo": row["part_no"],
        "Status": 5 if row["is_active"] is False else 6,  # Inactive, else NotActivated
        "Type": 1,
        "EanCode": row["ean"],
        **{k: json_value(row[f]) for k, f in (("ActualWeight", "weight"),) if row[f] is not None},
        "StartDate": None if row["start_date"] is None else json_value(row["start_date"]),
        "StopDate": None if row["stop_date"] is None else json_value(row["stop_date"]),
        "VatRates": None if vat is None else [{"SalesArea": 1, "Rate": json_value(vat)}],
    }
    variant = {"ManufacturerPartNo": row["manufacturer_part_no"] or row["part_no"]}
    culture = _kept({"Name": row["name"], "Description": row["description"]})
    category = row["category_code"]
    return _kept(
        {
            "ManufacturerCode": row["manufacturer_code"],
            "Variants": [{**variant, "Skus": [_kept(sku)]}],
            "ManufacturerName": row["manufacturer_name"],
            "Code": row["product_code"],
            "Categories": None if category is None else [{"Code": category}],
            "Cultures": [{"CultureCode": "sv-SE", **culture}] if culture else None,
        }
    )


def _adds(rows: list[dict[str, Any]], schema: dict[str, Any]) -> Delta:
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    empty = frame.clear()
    return Delta(frame, empty, empty, empty, empty)


def _dumps(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()


PRICE_SCHEMA = {
    "part_no": pl.String,
    "price_list_code": pl.String,
    "quantity_break": pl.Int32,
    "currency": pl.String,
    "price_sale": MONEY,
    "cost_purchase": MONEY,
    "cost_unit": MONEY,
    "price_recommended": MONEY,
    "price_previous": MONEY,
    "price_catalog": MONEY,
    "is_active": pl.Boolean,
}
# A null first member (part_no) too: the item then opens with the next member present.
price_rows = st.tuples(
    maybe_texts,
    maybe_texts,
    st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    maybe_texts,
    *[amounts] * 6,
    flags,
).map(lambda cells: dict(zip(PRICE_SCHEMA, cells, strict=True)))
PRICE_NAMES = {
    "part_no": "PartNo",
    "price_list_code": "PriceListCode",
    "quantity_break": "QuantityBreak",
    "currency": "CurrencyCode",
    "price_sale": "PriceSale",
    "cost_purchase": "CostPurchase",
    "cost_unit": "CostUnit",
    "price_recommended": "PriceRecommended",
    "price_previous": "PricePrevious",
    "price_catalog": "PriceCatalog",
}


def _price_item(row: dict[str, Any]) -> dict[str, Any]:
    """An add's flat item as the per-row Python builder made it."""
    values = {name: json_value(row[f]) for f, name in PRICE_NAMES.items() if row[f] is not None}
    return {**values, "IsActive": row["is_active"] is not False}


@pytest.mark.parametrize(
    ("contract", "schema", "row", "item"),
    [
        (PRODUCT, PRODUCT_SCHEMA, product_rows, _product_item),
        (PRICE, PRICE_SCHEMA, price_rows, _price_item),
    ],
    ids=["product", "price"],
)
@settings(max_examples=120, deadline=None)
@given(data=st.data(), chunk=st.integers(1, 7))
def test_bodies_are_json_dumps_of_the_python_items(
    contract: Any,
    schema: dict[str, Any],
    row: st.SearchStrategy[dict[str, Any]],
    item: Callable[[dict[str, Any]], dict[str, Any]],
    data: st.DataObject,
    chunk: int,
) -> None:
    rows = data.draw(st.lists(row, min_size=1, max_size=30))
    calls = build(contract, _adds(rows, schema), chunk_size=chunk)
    assert sum(len(call.items) for call in calls) == len(rows)
    for call in calls:
        assert call.rows is not None
        expected = [item(r) for r in call.rows.iter_rows(named=True)]
        assert call.body_bytes() == _dumps(expected)

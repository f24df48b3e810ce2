"""A call's body encoded as one joined text is the bytes `json.dumps` writes of its items.

`JsonRows.body` joins the items before it cuts null members and unquotes numbers (one pass
over the body, not one per item). Held here on generated rows against two truths: the
per-item texts joined with `,` (what the body was before), and `json.dumps` of Python dicts
built from the same rows without polars (nulls left out, amounts as `json_value` writes
them). The rows have what could make a pass match across two items: nulls first, last and
alone in an object, `null` and `:null` as text, quotes, backslashes, control characters,
keys of NUMBERS inside text, and empty nested objects.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.entities.json_rows import JsonRows, encode, number_text
from etl.entities.payloads import json_value

TRICKY = ["null", ":null", ',"Rate":"1"', '{"A":null}', '"', "\\", "\n\x01\x1f", "é € 🧤", ""]
texts = st.one_of(st.none(), st.sampled_from(TRICKY), st.text(max_size=12))
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=-99_999, max_value=99_999, places=4, allow_nan=False),
)
rows = st.lists(st.tuples(texts, texts, amounts, texts), min_size=1, max_size=25)

SCHEMA = {"code": pl.String, "name": pl.String, "rate": pl.Decimal(18, 4), "note": pl.String}


def _item() -> pl.Expr:
    """An item shaped like a product's: a maybe-null first member, a nested list, a number."""
    inner = pl.struct(pl.col("note").alias("Note"), number_text(pl.col("rate")).alias("Rate"))
    return pl.struct(
        pl.col("code").alias("Code"),
        pl.concat_list(pl.struct(pl.col("name").alias("Name"))).alias("Names"),
        pl.concat_list(inner).alias("Rates"),
        pl.col("name").alias("Last"),
    )


def _dict(code: str | None, name: str | None, rate: Decimal | None, note: str | None) -> Any:
    """The item as the per-row Python builders made it: nulls dropped, numbers exact."""

    def kept(pairs: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in pairs.items() if v is not None}

    inner = kept({"Note": note, "Rate": None if rate is None else json_value(rate)})
    return kept({"Code": code, "Names": [kept({"Name": name})], "Rates": [inner], "Last": name})


@settings(max_examples=150)
@given(rows)
def test_the_joined_body_is_the_items_json_dumps_writes(cells: list[tuple[Any, ...]]) -> None:
    frame = pl.DataFrame(cells, schema=SCHEMA, orient="row")
    body = JsonRows(frame, _item()).body()
    per_item = ",".join(encode(frame, _item()).to_list())
    assert body == f"[{per_item}]".encode()
    expected = [_dict(*row) for row in cells]
    assert body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_body_of_no_rows_is_an_empty_array() -> None:
    assert JsonRows(pl.DataFrame(schema=SCHEMA), _item()).body() == b"[]"

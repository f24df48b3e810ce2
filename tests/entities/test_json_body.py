"""A call's body encoded as one joined text is the bytes `json.dumps` writes of its items.

`JsonRows.body` joins the items' texts. Held here on generated rows against two truths: the
per-item texts joined with `,`, and `json.dumps` of Python dicts built from the same rows
without polars (nulls left out, amounts as `json_value` writes them). The rows have what
could put a comma or a brace in the wrong place: nulls first, last and alone in an object,
`null` and `:null` as text, quotes, backslashes, control characters, keys inside text, and
empty nested objects.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.entities.json_rows import Arr, JsonRows, Node, Raw, Text, encode, number_text, obj
from etl.entities.payloads import json_value

TRICKY = ["null", ":null", ',"Rate":"1"', '{"A":null}', '"', "\\", "\n\x01\x1f", "é € 🧤", ""]
texts = st.one_of(st.none(), st.sampled_from(TRICKY), st.text(max_size=12))
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=-99_999, max_value=99_999, places=4, allow_nan=False),
)
rows = st.lists(st.tuples(texts, texts, amounts, texts), min_size=1, max_size=25)

SCHEMA = {"code": pl.String, "name": pl.String, "rate": pl.Decimal(18, 4), "note": pl.String}


def _item() -> Node:
    """An item shaped like a product's: a maybe-null first member, a nested list, a number."""
    inner = obj(("Note", Text(pl.col("note"))), ("Rate", Raw(number_text(pl.col("rate")))))
    return obj(
        ("Code", Text(pl.col("code"))),
        ("Names", Arr(obj(("Name", Text(pl.col("name")))))),
        ("Rates", Arr(inner)),
        ("Last", Text(pl.col("name"))),
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

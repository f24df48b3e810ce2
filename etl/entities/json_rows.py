"""Norce items written as JSON by polars, one chunk at a time, never as Python dicts.

A go-live sends every row of the catalogue as an add: ten million Python dicts do not fit
the VM, and building them costs far more than reading the file. So a payload builder gives
polars one struct expression per setting group (the nested item, with nulls where a value
is missing) and `JsonRows` encodes one chunk of rows when its call is written or posted.
The bytes are those `json.dumps(items, separators=(",", ":"), ensure_ascii=False)` makes of
the dicts the builders used to make (tests/entities/test_product_json.py holds them equal):

- a null member is left out, as the builders' `_drop_nulls` did: once encoded, a `"Key":null`
  can only be structure (inside a JSON string every quote is escaped), so it is cut out;
- numbers leave the struct as text (`number_text`: a Decimal as `json_value` makes it, the
  shortest float repr or an int) under a key of `NUMBERS`, and lose their quotes after encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, overload

import polars as pl

JsonObject = dict[str, Any]

# Keys whose values are numbers written as text by `number_text` (unquoted after encoding):
# products', then prices' and on-hand's (etl.entities.payloads.FlatImport).
NUMBERS = (
    *("ActualWeight", "Rate"),
    *("PriceSale", "CostPurchase", "CostUnit", "PriceRecommended", "PricePrevious"),
    *("PriceCatalog", "OnhandValue", "IncomingValue"),
)
_UNQUOTE = r'([,{]"(?:' + "|".join(NUMBERS) + r')":)"([-0-9.]*)"'
_NULL_AFTER_COMMA = r',"[A-Za-z]+":null'
_NULL_FIRST = r'\{"[A-Za-z]+":null,'
_NULL_ALONE = r'\{"[A-Za-z]+":null\}'


def number_text(value: pl.Expr) -> pl.Expr:
    """A Decimal as JSON writes `json_value(value)`: integral as an int, else the shortest float.

    For amounts of at most 15 significant digits and 4 decimals (checks.MONEY) the float's
    shortest repr is the decimal's own digits, so trailing zeros (and a bare point) go.
    """
    text = value.cast(pl.String)
    trimmed = text.str.strip_chars_end("0").str.strip_chars_end(".")
    fraction = pl.when(text.str.contains(".", literal=True)).then(trimmed).otherwise(text)
    # -0.0000 is int(0) to json_value; strip leaves "-0" or "" for it.
    return pl.when(value == 0).then(pl.lit("0")).otherwise(fraction)


def datetime_text(value: pl.Expr) -> pl.Expr:
    """A datetime as `json_value` writes it: Norce's `YYYY-MM-DDTHH:MM:SS` (UTC when aware)."""
    return value.dt.strftime("%Y-%m-%dT%H:%M:%S")


def encode(rows: pl.DataFrame, item: pl.Expr) -> pl.Series:
    """Each row's item as one JSON text, nulls left out and numbers unquoted."""
    return _finished(_encoded(rows, item))


def encoded_array(rows: pl.DataFrame, item: pl.Expr) -> bytes:
    """The rows' items as one JSON array's UTF-8 bytes, as `encode`'s texts joined by `,`.

    Joined first, the null and number passes run once over the call's body instead of once
    per item, and the bytes come out of polars without a Python `str` in between (a go-live's
    bodies: about a tenth less CPU, 1M rows in 5,000-item calls). No pass can match across
    two items: each item is an object, so a join is `},{` and every pattern needs `,"`, `{"`
    or `":` there.
    """
    joined = _encoded(rows, item).str.join(",")
    array = pl.concat_str(pl.lit("["), pl.lit(joined), pl.lit("]"))
    body: bytes = _finished(pl.select(array).to_series()).cast(pl.Binary).item()
    return body


def _encoded(rows: pl.DataFrame, item: pl.Expr) -> pl.Series:
    """Each row's item as polars' JSON: nulls as `null`, numbers as quoted text."""
    return rows.select(item.struct.json_encode().alias("json")).to_series()


def _finished(text: pl.Series) -> pl.Series:
    """JSON texts with null members left out and numbers unquoted."""
    if text.str.contains(":null", literal=True).any():  # most chunks have none: skip two scans
        text = (
            text.str.replace_all(_NULL_AFTER_COMMA, "")
            .str.replace_all(_NULL_FIRST, "{")
            .str.replace_all(_NULL_ALONE, "{}")
        )
    return text.str.replace_all(_UNQUOTE, "$1$2")


class JsonRows(Sequence[JsonObject]):
    """A call's items as rows of a frame and the expression that makes each one's JSON.

    Nothing is encoded until the call's body is asked for, so a run of a thousand calls holds
    one call's JSON at a time. Reading items (tests, the customer scrubber) decodes them.
    """

    def __init__(self, rows: pl.DataFrame, item: pl.Expr) -> None:
        self._rows = rows
        self._item = item

    def __len__(self) -> int:
        return self._rows.height

    @overload
    def __getitem__(self, index: int) -> JsonObject: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[JsonObject]: ...

    def __getitem__(self, index: int | slice) -> JsonObject | Sequence[JsonObject]:
        if isinstance(index, slice):
            return list(self)[index]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        row = self._rows.slice(index % len(self), 1)
        decoded: JsonObject = json.loads(encode(row, self._item)[0])
        return decoded

    def __iter__(self) -> Iterator[JsonObject]:
        for text in self.texts():
            yield json.loads(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def texts(self) -> list[str]:
        """Each item's JSON text, in row order."""
        if not self._rows.height:
            return []
        return encode(self._rows, self._item).to_list()

    def body(self) -> bytes:
        """The call's body: the items as one JSON array, as `json.dumps` writes it."""
        if not self._rows.height:
            return b"[]"
        return encoded_array(self._rows, self._item)

    def chunks(self, size: int) -> Iterator[JsonRows]:
        """Consecutive parts of at most `size` rows (slices: no copy of the frame)."""
        for start in range(0, self._rows.height, size):
            yield JsonRows(self._rows.slice(start, size), self._item)

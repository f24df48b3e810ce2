"""Building blocks for Norce payloads: JSON values, change groups, chunks, flat imports.

`*FieldsThatAreSet` belongs to the request header, not to an item, so rows are grouped by
the exact set of fields that changed; each group becomes its own requests. Norce then
touches exactly the fields that changed and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from etl.entities.base import CallContext
from etl.models import CHANGED, Delta
from etl.norce.calls import NorceCall

Item = dict[str, Any]


def json_value(value: object) -> object:
    """A polars cell as JSON wants it: decimals as exact numbers, dates as Norce datetimes."""
    if isinstance(value, Decimal):
        # Amounts are capped at 15 significant digits (checks.MAX_AMOUNT), so the float's
        # shortest repr is exactly the decimal's digits: no rounding of money.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00"
    return value


def change_groups(changes: pl.DataFrame) -> Iterator[tuple[tuple[str, ...], pl.DataFrame]]:
    """Changed rows grouped by the exact set of fields that changed, in a stable order."""
    if not changes.height:
        return
    keyed = changes.with_columns(pl.col(CHANGED).list.sort().list.join(",").alias("_group"))
    for group in sorted(keyed["_group"].unique().to_list()):
        rows = keyed.filter(pl.col("_group") == group).drop("_group")
        yield tuple(group.split(",")), rows


def chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class CallSequence:
    """Numbers calls in the order they are built, so labels sort in sending order."""

    method: str
    context: CallContext
    calls: list[NorceCall]

    def add(self, kind: str, header: Mapping[str, Any], items: Sequence[Item]) -> None:
        """Append one call per chunk of `items`."""
        short = self.method.rsplit("/", 1)[-1]
        for part in chunks(items, self.context.chunk_size):
            label = f"{len(self.calls) + 1:04d}-{short}-{kind}"
            self.calls.append(NorceCall(self.method, header, list(part), label))


@dataclass(frozen=True)
class FlatImport:
    """A Norce import whose items are flat records (prices, on-hand).

    identity: Norce name -> field, always sent (match keys and fields with no enum).
    values: field -> (Norce name, FieldsThatAreSet number).
    """

    method: str
    fields_header: str
    identity: Mapping[str, str]
    values: Mapping[str, tuple[str, int]]
    is_active: int  # the FieldsThatAreSet number of IsActive

    def build(self, delta: Delta, context: CallContext) -> list[NorceCall]:
        """Adds, changes by group, reactivations and removals as numbered calls."""
        seq = CallSequence(self.method, context, [])
        every = tuple(self.values)
        seq.add("add", self._header(context, every, True), self._items(delta.adds, every, True))
        for n, (changed, rows) in enumerate(change_groups(delta.changes), start=1):
            fields = self._settable(changed)
            seq.add(
                f"change{n}", self._header(context, fields, False), self._items(rows, fields, None)
            )
        react = delta.reactivations
        seq.add("reactivate", self._header(context, every, True), self._items(react, every, True))
        seq.add("remove", self._header(context, (), True), self._items(delta.removals, (), False))
        return seq.calls

    def _settable(self, changed: Sequence[str]) -> tuple[str, ...]:
        """The changed fields Norce has a number for.

        Identity fields (CurrencyCode) have none and go in every item anyway; a change of
        those alone re-sends every value so the header never lists an empty set.
        """
        fields = tuple(f for f in changed if f in self.values)
        return fields or tuple(self.values)

    def _header(
        self, context: CallContext, fields: Sequence[str], sets_active: bool
    ) -> dict[str, Any]:
        numbers = {self.values[f][1] for f in fields} | ({self.is_active} if sets_active else set())
        return {
            "AccountId": context.account_id,
            "FullFile": False,
            self.fields_header: sorted(numbers),
            "SerializationType": 0,
        }

    def _items(self, rows: pl.DataFrame, fields: Sequence[str], active: bool | None) -> list[Item]:
        if not rows.height:
            return []
        items = []
        for row in rows.iter_rows(named=True):
            item: Item = {norce: json_value(row[f]) for norce, f in self.identity.items()}
            for f in fields:
                norce_name = self.values[f][0]
                item[norce_name] = json_value(row[f])
            if active is not None:
                item["IsActive"] = active
            items.append({k: v for k, v in item.items() if v is not None})
        return items

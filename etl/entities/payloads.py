"""Building blocks for Norce payloads: JSON values, setting groups, chunks, flat imports.

`*FieldsThatAreSet` belongs to the request header, not to an item, and Connect reads a listed
field an item leaves out as null. So every item is sent with exactly the fields it sets, and
rows are grouped by that set; each group becomes its own requests. What a row sets:

- only fields the feed's contract carries (maps or defaults, `CallContext.carried`): Norce
  never hears of the others, so what people keep there by hand stays;
- an add or a reactivation: the carried fields that hold a value. An empty cell on first
  sight says nothing (every row of a first run against a live tenant is an add), so it
  leaves Norce's value alone; that holds for a row coming back after a removal too, whose
  old values the delta does not carry;
- a change: the carried fields that changed, an emptied one included: the ERP had a value
  and removed it, so Norce's is cleared (listed, not sent);
- a field the contract declares `create_only` (`CallContext.create_only`): set by an add
  only, which the builder lists under the field's CreateOnly number, so Norce takes it only
  when it creates the record. A change or a reactivation (a record Norce has) sends nothing
  for it: what people wrote there in Norce stays.

The ERP's active flag (`is_active`, see etl.models.IS_ACTIVE) is never a field a row sets:
IsActive goes with adds, reactivations and removals only. An add the ERP marks inactive is
sent with its fields and IsActive false (`stays_inactive`), never created active.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandera.polars as pa
import polars as pl

from etl.entities.base import CallContext
from etl.entities.calls import NorceCall
from etl.entities.json_rows import (
    JsonRows,
    Node,
    Obj,
    Raw,
    Text,
    boolean,
    datetime_text,
    number_text,
    obj,
)
from etl.models import CHANGED, IS_ACTIVE, Delta

Item = dict[str, Any]

# The optional flag every snapshot entity's schema ends with, and its label.
ACTIVE_FLAG = {IS_ACTIVE: pa.Column(pl.Boolean, nullable=True)}
ACTIVE_LABEL = {
    IS_ACTIVE: "Active in the ERP: false (or 0) deactivates the row in Norce; empty is active"
}


def stays_inactive(row: Mapping[str, Any]) -> bool:
    """An add the ERP marks inactive: Norce gets it with IsActive false (or a removed status)."""
    return row.get(IS_ACTIVE) is False


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


def present(rows: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    """Rows of an add or a reactivation, with CHANGED set to those of `fields` holding a value.

    A reactivation also sets the fields that differ from its last accepted state (the diff's
    CHANGED): one the ERP emptied while the row was away is cleared, as a change would. So
    does a dormant row back as an add; the adds beside it, never seen before, have no CHANGED.
    """
    flags: list[pl.Expr] = [pl.when(pl.col(f).is_not_null()).then(pl.lit(f)) for f in fields]
    if CHANGED in rows.columns:
        differing = pl.col(CHANGED).fill_null(pl.lit([], pl.List(pl.String)))
        emptied = differing.list.eval(pl.element().filter(pl.element().is_in(list(fields))))
        flags.append(emptied)  # a list among the strings: concat_list flattens it
    sets = pl.concat_list(flags).list.drop_nulls() if flags else pl.lit([], pl.List(pl.String))
    return rows.with_columns(sets.list.unique(maintain_order=True).alias(CHANGED))


def within(changes: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    """Changed rows with CHANGED cut down to `fields`; rows left with nothing to set are dropped."""
    if not changes.height:
        return changes  # an approval's delta has no changes, nor their CHANGED column
    kept = pl.col(CHANGED).list.eval(pl.element().filter(pl.element().is_in(list(fields))))
    cut = changes.with_columns(kept.alias(CHANGED))
    return cut.filter(pl.col(CHANGED).list.len() > 0)


def change_groups(changes: pl.DataFrame) -> Iterator[tuple[tuple[str, ...], pl.DataFrame]]:
    """Rows grouped by the exact set of fields in CHANGED, in a stable order."""
    if not changes.height:
        return
    keyed = changes.with_columns(pl.col(CHANGED).list.sort().list.join(",").alias("_group"))
    for group in sorted(keyed["_group"].unique().to_list()):
        rows = keyed.filter(pl.col("_group") == group).drop("_group")
        yield (tuple(group.split(",")) if group else ()), rows


def by_values(
    rows: pl.DataFrame, fields: Sequence[str]
) -> Iterator[tuple[tuple[str, ...], pl.DataFrame]]:
    """Rows grouped by which of `fields` hold a value, as change_groups(present(...)) groups them.

    For adds never seen before (no CHANGED): a go-live sends every row of the catalogue as
    one, and a list of field names per row would cost more than the rows. A bit per field
    says the same; a file whose rows all set the same fields is one group, not copied.
    """
    if not rows.height:
        return
    # A field with a value in every row (or in none) sets the same bit in every row: only the
    # others are looked at row by row (a null count is known without a scan). A go-live's
    # file commonly fills every field: then no mask is built at all (the bits of ten fields
    # took +215 MB at 2M rows, measured, at the build's peak).
    nulls = rows.select(pl.col(f).null_count() for f in fields).row(0) if fields else ()
    always = sum(1 << n for n, count in enumerate(nulls) if count == 0)
    varying = [n for n, count in enumerate(nulls) if 0 < count < rows.height]
    if not varying:  # one group: every row sets the same fields
        yield tuple(sorted(f for n, f in enumerate(fields) if always >> n & 1)), rows
        return
    bits = [pl.col(fields[n]).is_not_null().cast(pl.Int64) * (1 << n) for n in varying]
    masks = rows.select((pl.sum_horizontal(bits) + always).alias("_mask")).to_series()
    found = {m: [f for n, f in enumerate(fields) if m >> n & 1] for m in masks.unique().to_list()}
    ordered = sorted(found.items(), key=lambda kv: ",".join(sorted(kv[1])))
    for m, setting in ordered:
        group = rows if len(found) == 1 else rows.filter(masks == m)
        yield tuple(sorted(setting)), group


def setting_groups(
    delta: Delta,
    fields: Sequence[str],
    units: Mapping[str, str] | None = None,
    seeds: Collection[str] = (),
) -> Iterator[tuple[str, tuple[str, ...], pl.DataFrame]]:
    """(kind, fields set, rows) for adds, changes (change1, change2...) and reactivations.

    `fields` are the entity's settable fields the contract carries (see the module
    docstring); `units` names the one Norce value some of them make together (an address
    replaced whole), which a group then sets instead of the parts; `seeds` are those of
    `fields` only adds set (create-only).
    """
    units = units or {}
    fields = [f for f in fields if f != IS_ACTIVE]  # a state, never a value a row sets
    order: dict[str, int] = {}  # a group's fields in the entity's order, a unit at its first part
    for n, f in enumerate(fields):
        order.setdefault(units.get(f, f), n)

    def grouped(rows: pl.DataFrame) -> Iterator[tuple[tuple[str, ...], pl.DataFrame]]:
        if units and rows.height:
            whole = pl.col(CHANGED).list.eval(pl.element().replace(dict(units))).list.unique()
            rows = rows.with_columns(whole.alias(CHANGED))
        for setting, group in change_groups(rows):
            yield tuple(sorted(setting, key=order.__getitem__)), group

    kept = [f for f in fields if f not in seeds]  # what a record Norce has takes
    if units or CHANGED in delta.adds.columns or len(fields) > 62:  # a bit per field
        adds = grouped(present(delta.adds, fields))
    else:
        adds = (
            (tuple(sorted(s, key=order.__getitem__)), r) for s, r in by_values(delta.adds, fields)
        )
    for setting, rows in adds:
        yield "add", setting, rows
    for n, (setting, rows) in enumerate(grouped(within(delta.changes, kept)), start=1):
        yield f"change{n}", setting, rows
    for setting, rows in grouped(present(delta.reactivations, kept)):
        yield "reactivate", setting, rows


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

    def add(
        self, kind: str, header: Mapping[str, Any], items: Sequence[Item], rows: pl.DataFrame
    ) -> None:
        """Append one call per chunk of `items`; `rows` are theirs, one row per item."""
        short = self.method.rsplit("/", 1)[-1]
        size = self.context.chunk_size
        for start, part in zip(range(0, len(items), size), chunks(items, size), strict=True):
            label = f"{len(self.calls) + 1:04d}-{short}-{kind}"
            carried = rows.slice(start, size)
            self.calls.append(NorceCall(self.method, header, list(part), label, carried))

    def add_rows(
        self, kind: str, header: Mapping[str, Any], rows: pl.DataFrame, item: Node
    ) -> None:
        """Append one call per chunk of `rows`, each item encoded from `item` when it is sent."""
        short = self.method.rsplit("/", 1)[-1]
        size = self.context.chunk_size
        for start, part in zip(
            range(0, rows.height, size), JsonRows(rows, item).chunks(size), strict=True
        ):
            label = f"{len(self.calls) + 1:04d}-{short}-{kind}"
            carried = rows.slice(start, size)
            self.calls.append(NorceCall(self.method, header, part, label, carried))


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
        fields = [f for f in self.values if f in context.carried]
        identity = [f for f in self.identity.values() if f in context.carried]
        changes = self._identity_changes(delta.changes, fields, identity)
        for kind, setting, rows in setting_groups(replace(delta, changes=changes), fields):
            active = None if kind.startswith("change") else True
            header = self._header(context, setting, active is not None)
            seq.add_rows(kind, header, rows, self._item(rows.schema, setting, active))
        removes = self._header(context, (), True)
        gone = self._item(delta.removals.schema, (), False)
        seq.add_rows("remove", removes, delta.removals, gone)
        return seq.calls

    @staticmethod
    def _identity_changes(
        changes: pl.DataFrame, fields: Sequence[str], identity: Sequence[str]
    ) -> pl.DataFrame:
        """A change of an identity alone (CurrencyCode: no number) re-sends the values held.

        The item carries the new identity anyway; the header then lists what it sends.
        """
        if not changes.height:
            return changes
        sets = pl.col(CHANGED).list.eval(pl.element().is_in(list(fields))).list.any()
        alone = pl.col(CHANGED).list.eval(pl.element().is_in(list(identity))).list.any() & ~sets
        whole = present(changes.filter(alone), fields)
        return pl.concat([changes.filter(~alone), whole.select(changes.columns)])

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

    def _item(self, schema: pl.Schema, fields: Sequence[str], active: bool | None) -> Obj:
        """One row's flat item as the tree polars writes as JSON (etl.entities.json_rows).

        Identity first, then the group's values, then IsActive when the kind sets it; a
        null is left out of the JSON, as the per-row builder dropped None.
        """
        members = [(norce, column_json(schema, f)) for norce, f in self.identity.items()]
        members += [(self.values[f][0], column_json(schema, f)) for f in fields]
        if active is not None:
            inactive = (pl.col(IS_ACTIVE) == False).fill_null(False)  # noqa: E712
            marked = inactive if IS_ACTIVE in schema else pl.lit(False)
            members.append(("IsActive", boolean(pl.lit(active) & ~marked)))
        return obj(*members)


def column_json(schema: pl.Schema, field: str) -> Node:
    """A column as `json_value` writes its cells: decimals as numbers, dates as Norce datetimes
    (a Null column, nothing in it: null, the member left out)."""
    dtype = schema[field]
    if dtype == pl.Null:
        return Raw(pl.lit(None, pl.String))
    if isinstance(dtype, pl.Decimal):
        return Raw(number_text(pl.col(field)))
    if dtype == pl.Date:
        return Text(pl.col(field).cast(pl.String) + pl.lit("T00:00:00"))
    if isinstance(dtype, pl.Datetime):
        return Text(datetime_text(pl.col(field)))
    if dtype.is_integer():
        return Raw(pl.col(field).cast(pl.String))
    if dtype == pl.Boolean:
        return boolean(pl.col(field))
    if dtype == pl.String:
        return Text(pl.col(field))
    raise TypeError(f"{field}: no JSON writing for {dtype}")

"""Rows that name a record of another feed (`[references]`): the name must be known.

A contact's company code must be a company the companies feed holds, or Norce refuses the
contact (companies must exist before customers point at them). The other feed runs first in
a pass, so "known" is its current snapshot's live rows (active, or held: Norce still has
them active). A row naming an unknown record is rejected like any bad cell: it keeps its
last accepted state, the other rows go on.

A row the file marks inactive (is_active false) is looked at differently. Its key live in
this feed's own snapshot, it is a removal: only its identity goes to Norce, so it is not
checked (a price whose product the same file switched off must go too). New to this feed,
it is an add sent inactive: the record it names must be known to the other feed in any
state, since Norce has that record either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import polars as pl

from etl.config.contracts import FeedContract
from etl.models import ACTIVE, HELD, LINE, STATE, Validated
from etl.read.deactivations import marked_inactive, restore_new
from etl.read.same_rows import share_late_outcomes
from etl.read.validate import REJECTION_SCHEMA, contract_schema

CODE = "unknown_reference"
_OURS = "_ours"  # the row's key is in this feed's own snapshot
_AT = "_at"  # a row's place in the valid rows
_VALUE = "_value"  # the named value, as text, to join on
_MARKED = "_marked"  # the row is marked inactive


@dataclass(frozen=True)
class Holdings:
    """What the snapshots hold that one feed's rows are checked against."""

    own: pl.DataFrame  # this feed's snapshot keys, in any state
    live: Mapping[str, pl.Series]  # [references] field -> values live in the other feed
    anywhere: Mapping[str, pl.Series]  # field -> values the other feed holds in any state


# (feed, field) -> that feed's snapshot: the field's column and STATE.
SnapshotOf = Callable[[str, str], pl.DataFrame]


def holdings(contract: FeedContract, own: pl.DataFrame | None, snapshot_of: SnapshotOf) -> Holdings:
    """The Holdings of `contract` from its own snapshot (None: not needed) and each
    referenced feed's."""
    fields = contract.entity.fields()
    if own is None:
        own = pl.DataFrame(schema={k: fields[k] for k in contract.key_fields})
    live, anywhere = {}, {}
    for field, target in contract.references.items():
        feed, _, other = target.partition(".")
        rows = snapshot_of(feed, other)
        values = pl.col(other).cast(pl.String)
        live[field] = rows.filter(pl.col(STATE).is_in([ACTIVE, HELD])).select(values)[other]
        anywhere[field] = rows.select(values)[other]
    return Holdings(own.select(contract.key_fields).unique(), _named(live), _named(anywhere))


def _named(values: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """Each field's values without nulls, named `_VALUE` for the joins of `reject_unknown`.

    Not made distinct: a join looks each value up in a hash table all the same, and a
    unique() of a million snapshot keys cost more than the joins themselves.
    """
    return {field: series.drop_nulls().alias(_VALUE) for field, series in values.items()}


def settle(validated: Validated, contract: FeedContract, known: Holdings) -> Validated:
    """`validated` checked against the snapshots, as a run checks it after reading the file.

    Rows forgiven as deactivations that Norce never had go back to the rejections
    (etl.read.deactivations); then rows naming an unknown record are rejected. Copies of a row
    rejected here (etl.read.same_rows) are rejected with it, each on its own line.
    """
    settled = restore_new(validated, contract, known.own)
    if contract.references:
        settled = reject_unknown(settled, contract, known)
    return share_late_outcomes(settled, validated.rejections)


def reject_unknown(validated: Validated, contract: FeedContract, known: Holdings) -> Validated:
    """`validated` with the rows naming an unknown record moved to the rejections.

    An empty cell names nothing.
    """
    if not known.live:
        return validated
    key = list(contract.key_fields)
    valid = _with_ours(validated.valid, known.own, key).with_row_index(_AT)
    cells, unknown_at = [], []
    for field in known.live:
        bad = _unknown_rows(valid, field, known)
        if bad.len():
            unknown_at.append(bad)
            # `_AT` is the row's position and `bad` is sorted: a gather of the few rows, not
            # a filter that looks at every row of the file.
            cells.append(_cells(valid[bad], contract, field, known))
    found = [c for c in cells if c.height]
    if not found:
        return validated
    # The row's markers of which key parts the file said are gone by now: a part that has a
    # default is taken as unsaid, which spares more old rows, never fewer.
    evidence = [
        (pl.lit(None, valid.schema[k]) if k in contract.defaults else pl.col(k)).alias(k)
        for k in key
    ]
    unknown = pl.col(_AT).is_in(pl.concat(unknown_at).implode())
    rejected = valid.filter(unknown).select(*evidence, pl.col(LINE))
    return replace(
        validated,  # rows read, parts, unkeyed lines and merged rows stay as they were
        valid=valid.filter(~unknown).drop(_OURS, _AT),
        rejections=pl.concat([validated.rejections, *found]).sort("line", "field"),
        rejected_keys=pl.concat([validated.rejected_keys, rejected]).unique(
            subset=key, keep="first", maintain_order=True
        ),
    )


def _with_ours(valid: pl.DataFrame, own: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """`valid` with _OURS: is the row's key in the feed's own snapshot (any state)?"""
    if not own.height:
        return valid.with_columns(pl.lit(False).alias(_OURS))
    ours = own.cast({k: valid.schema[k] for k in key}).with_columns(pl.lit(True).alias(_OURS))
    # The keys alone are joined (`own` holds each key once): a join of the whole rows would
    # copy every cell of the file for one flag.
    keys = valid.select(key).join(ours, on=key, how="left", nulls_equal=True, maintain_order="left")
    return valid.with_columns(keys[_OURS].fill_null(False))


def _unknown_rows(valid: pl.DataFrame, field: str, known: Holdings) -> pl.Series:
    """The `_AT` of the rows of `valid` whose `field` names a record not known enough.

    A row needs the record live in the other feed, an add sent inactive (marked, not ours)
    needs it in any state, and a removal (marked and ours) needs nothing: it sends only its
    identity. A join, not `is_in`: an anti join against the live values leaves the few rows
    to look at again, and only those are looked up among the values in any state.
    """
    marked = marked_inactive(valid)
    value = pl.col(field).cast(pl.String)
    named = (
        valid.lazy()
        .filter(value.is_not_null() & ~(marked & pl.col(_OURS)))
        .select(_AT, value.alias(_VALUE))
        .collect()
    )
    # The join carries the position alone: the marks with it cost a third more (1M rows).
    # The few rows left are gathered (`_AT` is the row's position) and marked after.
    at = named.join(known.live[field].to_frame(), on=_VALUE, how="anti")[_AT]
    not_live = valid[at].select(_AT, value.alias(_VALUE), marked.alias(_MARKED))
    needs_live = not_live.filter(~pl.col(_MARKED))
    marked_rows = not_live.filter(pl.col(_MARKED))
    held = _held(marked_rows[_VALUE], known.anywhere[field])
    nowhere = marked_rows.filter(~pl.col(_VALUE).is_in(held.implode()))
    return pl.concat([needs_live[_AT], nowhere[_AT]]).sort()


def _held(named: pl.Series, anywhere: pl.Series) -> pl.Series:
    """Those of the (few) values `named` that `anywhere` holds.

    Its values are looked up among the few, not the few among its million: a hash table of
    the few costs a tenth of a join's table of every value it holds (1M SKUs), and nothing
    when none are named (a join builds its table all the same).
    """
    if not named.len():
        return anywhere.clear()
    return anywhere.filter(anywhere.is_in(named.unique().implode()))


def _cells(rows: pl.DataFrame, contract: FeedContract, field: str, known: Holdings) -> pl.DataFrame:
    target = contract.references[field]
    feed, _, other = target.partition(".")
    source = contract.field_sources().get(field, f"(default) {field}")
    key = pl.concat_str([pl.col(k).cast(pl.String) for k in contract.key_fields], separator=" / ")
    value = pl.col(field).cast(pl.String)
    or_empty = _or_empty(contract, field)
    # An add sent inactive needs the record in any state; any other row needs it live.
    which = pl.when(marked_inactive(rows)).then(pl.lit("no row")).otherwise(pl.lit("no active row"))
    unknown = pl.format(
        f"'{{}}' is not known: feed {feed!r} has {{}} with {other} '{{}}' (it may have been "
        f"rejected there: see that feed's report); send it there first{or_empty}",
        value,
        which,
        value,
    )
    # The other feed has it, switched off: sending it there again is no advice; the ERP
    # decided, and this row waits (or goes inactive too).
    inactive = pl.format(
        f"'{{}}' is inactive in feed {feed!r} (its file switched it off, in this run or "
        "earlier): a row naming it waits until it is active there again; or mark this row "
        f"inactive too{or_empty}",
        value,
    )
    # Which of the few values named here the other feed holds at all.
    held = _held(rows.select(value).to_series(), known.anywhere[field])
    message = pl.when(value.is_in(held.implode())).then(inactive).otherwise(unknown)
    return rows.select(
        pl.col(LINE).alias("line"),
        key.alias("key"),
        pl.lit(field).alias("field"),
        pl.lit(source).alias("source_column"),
        pl.lit(CODE).alias("code"),
        message.alias("message"),
        value.alias("value"),
    ).cast(REJECTION_SCHEMA)  # type: ignore[arg-type]


def _or_empty(contract: FeedContract, field: str) -> str:
    """`, or leave X empty` for an optional field; a key or required one cannot be left empty."""
    if field in contract.key_fields or not contract_schema(contract).columns[field].nullable:
        return ""
    return f", or leave {contract.field_sources().get(field, field)} empty"

"""Per-run row trail (`delta.parquet` in each archive folder): what happened to each key.

Every decision about a row that left the file is there: `remove` (sent), `held` (waits
for approval, with the guard's reason) and `spared` (a rejected row on `line` may stand
for it), so an operator can see why a row that left the file is still active. An `add` the
file marked inactive says so: Norce gets the record, switched off. A change (and a row back
after a removal) keeps each changed field's value before and after (`with_changed_values`),
which `run.py trace` shows: the snapshot it was diffed against is gone after the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from etl.models import CHANGED, LINE, SPARED_BY, Delta
from etl.read.deactivations import marked_inactive
from etl.read.validate import masked

# The trail's value columns: `old:<field>` and `new:<field>`, as text, set only where the
# field changed. Plain text columns (not one nested column) so an erasure (etl.privacy)
# masks them cell by cell as it masks every other text column of delta.parquet.
OLD, NEW = "old:", "new:"
_WAS = "__was"  # an old value beside the new one while they are joined

TRAIL_SCHEMA = {
    "key": pl.String,
    "action": pl.String,
    "changed": pl.String,
    "line": pl.Int64,
    "reason": pl.String,
}


def delta_rows(delta: Delta, key: Sequence[str], hold_reason: str | None = None) -> pl.DataFrame:
    """One row per key the run touched or kept: add, change, reactivate, remove, held, spared."""
    frames = []
    parts = [
        ("add", delta.adds, _added_inactive(delta.adds)),
        ("change", delta.changes, None),
        ("reactivate", delta.reactivations, None),
        ("remove", delta.removals, None),
        ("held", delta.held, pl.lit(hold_reason, pl.String)),
        ("spared", delta.spared, pl.format("rejected row on line {} may stand for it", SPARED_BY)),
    ]
    for action, rows, reason in parts:
        if rows.height:
            frames.append(rows.select(_trail_columns(action, rows, key, reason)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=TRAIL_SCHEMA)


def adds_trail_columns(adds: pl.DataFrame, key: Sequence[str]) -> list[pl.Expr]:
    """The trail's columns of the adds, as `delta_rows` selects them (key, action, ... reason)."""
    return _trail_columns("add", adds, key, _added_inactive(adds))


def _trail_columns(
    action: str, rows: pl.DataFrame, key: Sequence[str], reason: pl.Expr | None
) -> list[pl.Expr]:
    """One part's trail columns: its key as text, the action, changed fields, line, reason."""
    changed = pl.col(CHANGED).list.join(",") if CHANGED in rows.columns else pl.lit(None, pl.String)
    line = next((pl.col(c) for c in (LINE, SPARED_BY) if c in rows.columns), None)
    return [
        key_text(key).alias("key"),
        pl.lit(action).alias("action"),
        changed.alias("changed"),
        (pl.lit(None, pl.Int64) if line is None else line).alias("line"),
        (pl.lit(None, pl.String) if reason is None else reason).alias("reason"),
    ]


def _added_inactive(adds: pl.DataFrame) -> pl.Expr | None:
    """The reason of an add the file marked inactive (is_active = false); others have none."""
    if LINE not in adds.columns:
        return None
    said = pl.format("added inactive: is_active = false on line {}", pl.col(LINE))
    return pl.when(marked_inactive(adds)).then(said)


def with_changed_values(
    trail: pl.DataFrame,
    delta: Delta,
    key: Sequence[str],
    base: Path | None,
    personal: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """The trail with each changed field's value before and after the run.

    Old values come from `base`, the snapshot the run diffed against: only the rows of
    changed keys are read from it. A field about people (`personal`) is kept as reports
    show it, all but its last four characters starred.
    """
    rows = _with_changes(delta)
    if rows is None:
        return trail
    fields = _changed_fields(rows, key)
    if not fields:
        return trail
    old = _old_rows(base, rows.select(key), key, fields)
    joined = rows.join(old, on=list(key), how="left", nulls_equal=True)
    values = joined.select(
        key_text(key).alias("key"),
        "action",
        *(_value(f, f + _WAS, OLD, f in personal) for f in fields),
        *(_value(f, f, NEW, f in personal) for f in fields),
    )
    return trail.join(values, on=["key", "action"], how="left", maintain_order="left")


def has_changed_values(delta: Delta) -> bool:
    """Whether any row of the delta carries changed fields (`with_changed_values` adds columns)."""
    rows = _with_changes(delta)
    return rows is not None and bool(_changed_fields(rows, []))


def _with_changes(delta: Delta) -> pl.DataFrame | None:
    """Adds (a dormant row back), changes and reactivations that carry CHANGED, with their action."""
    parts = [
        # Filtered before anything is copied: of the adds only a dormant row back has CHANGED.
        rows.filter(pl.col(CHANGED).list.len() > 0).with_columns(pl.lit(action).alias("action"))
        for action, rows in (
            ("add", delta.adds),
            ("change", delta.changes),
            ("reactivate", delta.reactivations),
        )
        if rows.height and CHANGED in rows.columns
    ]
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="diagonal_relaxed") if parts else None


def _changed_fields(rows: pl.DataFrame, key: Sequence[str]) -> list[str]:
    """Fields any row changed, in the rows' column order."""
    named = set(rows[CHANGED].explode().drop_nulls().to_list())
    return [c for c in rows.columns if c in named and c not in key]


def _old_rows(
    base: Path | None, keys: pl.DataFrame, key: Sequence[str], fields: list[str]
) -> pl.DataFrame:
    """The base snapshot's values of `fields` for `keys` only (a field it lacks is empty)."""
    empty = [pl.lit(None, pl.String).alias(f + _WAS) for f in fields]
    if base is None:
        return keys.with_columns(empty)
    scan = pl.scan_parquet(base, glob=False)
    schema = scan.collect_schema()
    present = set(schema.names())
    was = [
        pl.col(f).cast(pl.String).alias(f + _WAS)
        if f in present
        else pl.lit(None, pl.String).alias(f + _WAS)
        for f in fields
    ]
    # A filter keeps the read to the changed keys, streamed so a 10M-row snapshot is never
    # held whole: a 1% change keeps 1% of the values. Not a semi join: its streamed probe
    # held the decoded pages of every text column read (+140 MB per 2M rows; a filter +8).
    # `is_in` needs the key's types to be the base's own; where a part's type differs (an
    # Int32 against the base's Int64) the semi join finds their common type, as it always did.
    if all(schema.get(k) == keys.schema[k] for k in key):
        found = scan.filter(_among(keys, key))
    else:
        found = scan.join(keys.lazy().unique(), on=list(key), how="semi", nulls_equal=True)
    return found.select(*key, *was).collect(engine="streaming")


def _among(keys: pl.DataFrame, key: Sequence[str]) -> pl.Expr:
    """Whether a row's key is one of `keys`' (nulls equal), the rows a semi join would keep."""
    if len(key) == 1:
        wanted = keys.get_column(key[0]).unique()
        return pl.col(key[0]).is_in(wanted.implode(), nulls_equal=True)
    wanted = keys.select(pl.struct(*key)).to_series().unique()
    return pl.struct(*key).is_in(wanted.implode(), nulls_equal=True)


def _value(field: str, column: str, prefix: str, personal: bool) -> pl.Expr:
    """The value of `column` as text where the row changed `field`, else null."""
    text = pl.col(column).cast(pl.String)
    if personal:
        text = text.map_elements(masked, return_dtype=pl.String)
    return pl.when(pl.col(CHANGED).list.contains(field)).then(text).alias(prefix + field)


def key_text(key: Sequence[str]) -> pl.Expr:
    """A row's key as the trail writes it: its parts joined by ` / `."""
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")

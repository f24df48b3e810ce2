"""Compare the file's valid rows with the last accepted snapshot, by key.

A snapshot row has a state: active, held (its removal waits for approval) or inactive (we
deactivated it in Norce; kept so a returning row is a reactivation, not a silent add).
A rejected row keeps its last accepted state: its key is neither a change nor a removal,
so a typo in a price can never deactivate a product.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.models import ACTIVE, CHANGED, HELD, INACTIVE, LINE, STATE, Delta

_OLD = "__old"


def diff(
    old: pl.DataFrame,
    new: pl.DataFrame,
    rejected_keys: pl.DataFrame,
    key: Sequence[str],
    full_export: bool,
) -> Delta:
    """Adds, changes (with the fields that changed), reactivations and removal candidates."""
    key = list(key)
    fields = [c for c in old.columns if c not in key and c != STATE]
    renamed = old.rename({c: c + _OLD for c in [*fields, STATE]})
    joined = new.join(renamed, on=key, how="left", nulls_equal=True)
    state = pl.col(STATE + _OLD)
    differs = [pl.col(f).ne_missing(pl.col(f + _OLD)) for f in fields]
    flags = [pl.when(d).then(pl.lit(f)) for d, f in zip(differs, fields, strict=True)]
    # Cheap test first: the list of changed fields is built only for the rows that changed
    # (about 1% on a normal day), not for every row of the file.
    changed_rows = joined.filter(state.is_in([ACTIVE, HELD]) & pl.any_horizontal(differs))
    columns = [*key, *fields, LINE]
    changes = changed_rows.select(*columns, pl.concat_list(flags).list.drop_nulls().alias(CHANGED))
    adds = joined.filter(state.is_null()).select(columns)
    reactivations = joined.filter(state == INACTIVE).select(columns)
    removals = old.clear()
    if full_export:
        live = old.filter(pl.col(STATE).is_in([ACTIVE, HELD]))
        removals = _spare_rejected(
            live.join(new, on=key, how="anti", nulls_equal=True), rejected_keys, key
        )
    return Delta(adds, changes, reactivations, removals.drop(STATE), removals.clear().drop(STATE))


def _spare_rejected(
    candidates: pl.DataFrame, rejected: pl.DataFrame, key: list[str]
) -> pl.DataFrame:
    """Old rows a rejected row may stand for are never removed.

    A rejected row whose key could be read in part (a price row with a bad quantity break)
    protects every old row that matches on the parts it had: better to keep a row one run
    too long than to deactivate one because of a typo.
    """
    if not rejected.height:
        return candidates
    known_parts = rejected.select(
        pl.concat_list([pl.col(k).is_not_null() for k in key]).alias("_known")
    )
    for pattern in known_parts.unique()["_known"].to_list():
        known = [k for k, present in zip(key, pattern, strict=True) if present]
        if not known:
            continue  # nothing of the key was readable: nothing to match on
        rows = rejected.filter(
            pl.all_horizontal(
                pl.col(k).is_not_null() == p for k, p in zip(key, pattern, strict=True)
            )
        )
        candidates = candidates.join(rows.select(known).unique(), on=known, how="anti")
    return candidates


def guard(
    delta: Delta, live_before: int, valid_rows: int, max_removals: int, max_ratio: float
) -> tuple[Delta, str | None]:
    """Hold the removals when they exceed both thresholds, or when the file has no valid rows."""
    count = delta.removals.height
    if not count:
        return delta, None
    reason = None
    if valid_rows == 0:
        reason = f"the file has no valid rows but {live_before} are live: {count} removals held"
    elif count > max_removals and count / max(live_before, 1) > max_ratio:
        reason = (
            f"{count} removals ({count / max(live_before, 1):.1%} of {live_before}) exceed the guard "
            f"(more than {max_removals} and more than {max_ratio:.0%})"
        )
    if reason is None:
        return delta, None
    held = Delta(
        delta.adds, delta.changes, delta.reactivations, delta.removals.clear(), delta.removals
    )
    return held, reason


def apply(old: pl.DataFrame, new: pl.DataFrame, delta: Delta, key: Sequence[str]) -> pl.DataFrame:
    """The next snapshot: the file's valid rows, plus old rows it did not carry, with states."""
    key = list(key)
    columns = old.columns
    current = new.with_columns(pl.lit(ACTIVE).alias(STATE)).select(columns)
    carried = old.join(new, on=key, how="anti", nulls_equal=True)
    removed = delta.removals.select(key).with_columns(pl.lit(INACTIVE).alias("_to"))
    held = delta.held.select(key).with_columns(pl.lit(HELD).alias("_to"))
    moves = pl.concat([removed, held]) if held.height or removed.height else None
    if moves is not None:
        carried = (
            carried.join(moves, on=key, how="left", nulls_equal=True)
            .with_columns(pl.coalesce("_to", STATE).alias(STATE))
            .select(columns)
        )
    return pl.concat([current, carried], how="vertical")


def empty_snapshot(fields: dict[str, pl.DataType]) -> pl.DataFrame:
    """A snapshot with no rows, for a feed's first run."""
    return pl.DataFrame(schema={**fields, STATE: pl.String})

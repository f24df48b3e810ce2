"""Per-run row trail (`delta.parquet` in each archive folder): what happened to each key.

Every decision about a row that left the file is there: `remove` (sent), `held` (waits
for approval, with the guard's reason) and `spared` (a rejected row on `line` may stand
for it), so an operator can see why a row that left the file is still active. An `add` the
file marked inactive says so: Norce gets the record, switched off.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.models import CHANGED, LINE, SPARED_BY, Delta
from etl.read.deactivations import marked_inactive

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
        if not rows.height:
            continue
        key_text = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")
        changed = (
            pl.col(CHANGED).list.join(",") if CHANGED in rows.columns else pl.lit(None, pl.String)
        )
        line = next((pl.col(c) for c in (LINE, SPARED_BY) if c in rows.columns), None)
        frames.append(
            rows.select(
                key_text.alias("key"),
                pl.lit(action).alias("action"),
                changed.alias("changed"),
                (pl.lit(None, pl.Int64) if line is None else line).alias("line"),
                (pl.lit(None, pl.String) if reason is None else reason).alias("reason"),
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=TRAIL_SCHEMA)


def _added_inactive(adds: pl.DataFrame) -> pl.Expr | None:
    """The reason of an add the file marked inactive (is_active = false); others have none."""
    if LINE not in adds.columns:
        return None
    said = pl.format("added inactive: is_active = false on line {}", pl.col(LINE))
    return pl.when(marked_inactive(adds)).then(said)

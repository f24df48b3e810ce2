"""Per-run row trail (`delta.parquet` in each archive folder): what happened to each key."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.models import CHANGED, LINE, Delta

TRAIL_SCHEMA = {"key": pl.String, "action": pl.String, "changed": pl.String, "line": pl.Int64}


def delta_rows(delta: Delta, key: Sequence[str]) -> pl.DataFrame:
    """One row per key the run touched: add, change (with fields), reactivate, remove, held."""
    frames = []
    parts = [
        ("add", delta.adds),
        ("change", delta.changes),
        ("reactivate", delta.reactivations),
        ("remove", delta.removals),
        ("held", delta.held),
    ]
    for action, rows in parts:
        if not rows.height:
            continue
        key_text = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")
        changed = (
            pl.col(CHANGED).list.join(",") if CHANGED in rows.columns else pl.lit(None, pl.String)
        )
        line = pl.col(LINE) if LINE in rows.columns else pl.lit(None, pl.Int64)
        frames.append(
            rows.select(
                key_text.alias("key"),
                pl.lit(action).alias("action"),
                changed.alias("changed"),
                line.alias("line"),
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=TRAIL_SCHEMA)

"""A row the file marks inactive is a deactivation: its other cells do not stop it.

An ERP that discontinues an article often blanks its price or sets it to 0 (a common
"discontinued" convention), or leaves a stale value no check takes. Rejected, such a row
would keep its last accepted state, active in Norce, every night. So a row whose key and
`is_active = false` were read cleanly is taken all the same: its failed cells are nulled
(they are never sent: a removal sends the values Norce has) and its failures kept apart.

That holds only while the row is a removal or nothing (its key is in the feed's snapshot).
A row Norce never had would be an add, inactive but with its cells: it goes back to the
rejections, as if it had never been forgiven.

The forgiven cells are no rejection, but not lost either: the run's report lists them under
IGNORED (the row is no rejected row) and the manifest counts them (`forgiven_cells`).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from etl.config.contracts import FeedContract
from etl.models import IS_ACTIVE, LINE, Validated

IGNORED = "ignored_on_deactivation"  # a report's code for a forgiven cell: not sent, not rejected


def marked_inactive(rows: pl.DataFrame) -> pl.Expr:
    """True for the rows whose IS_ACTIVE is false; empty (the ERP said nothing) is not."""
    if IS_ACTIVE not in rows.columns:
        return pl.lit(False)
    return pl.col(IS_ACTIVE).eq_missing(False)


def forgiven_rows(failed: pl.DataFrame, typed: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The `_row`s of `failed` (per-cell failures) whose key and is_active = false read cleanly."""
    if IS_ACTIVE not in typed.columns or not failed.height:
        return failed.select("_row").clear()
    clean = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    off = typed.filter(clean & marked_inactive(typed)).select("_row")
    spoiled = failed.filter(pl.col("field").is_in([*key, IS_ACTIVE])).select("_row")
    candidates = failed.select("_row").unique().join(off, on="_row", how="semi")
    return candidates.join(spoiled, on="_row", how="anti")


def null_failed_cells(typed: pl.DataFrame, failed: pl.DataFrame) -> pl.DataFrame:
    """`typed` with the cells in `failed` (`_row`, `field`) set to null."""
    changes = []
    for field, rows in failed.group_by("field").agg("_row").iter_rows():
        hit = pl.col("_row").is_in(pl.Series(rows, dtype=pl.UInt32).implode())
        changes.append(pl.when(hit).then(None).otherwise(pl.col(field)).alias(field))
    return typed.with_columns(changes) if changes else typed


def restore_new(validated: Validated, contract: FeedContract, own: pl.DataFrame) -> Validated:
    """Forgiven rows whose key the feed's snapshot lacks, rejected again with their failures."""
    forgiven = validated.forgiven
    if not forgiven.height:
        return validated
    key = list(contract.key_fields)
    lines = forgiven.select(pl.col("line").alias(LINE)).unique()
    rows = validated.valid.join(lines, on=LINE, how="semi")
    known = own.select(key).unique().cast({k: rows.schema[k] for k in key})
    new = rows.join(known, on=key, how="anti", nulls_equal=True)
    if not new.height:
        return validated
    back = forgiven["line"].is_in(new[LINE].implode())
    # Key parts from a default are not the file's word (see etl.read.validate._key_evidence).
    evidence = [
        (pl.lit(None, new.schema[k]) if k in contract.defaults else pl.col(k)).alias(k) for k in key
    ]
    return replace(
        validated,
        valid=validated.valid.join(new.select(LINE), on=LINE, how="anti", maintain_order="left"),
        rejections=pl.concat([validated.rejections, forgiven.filter(back)]).sort("line", "field"),
        rejected_keys=pl.concat([validated.rejected_keys, new.select(*evidence, LINE)]).unique(
            subset=key, keep="first", maintain_order=True
        ),
        forgiven=forgiven.filter(~back),
    )


def take_deactivations(
    failed: pl.DataFrame, typed: pl.DataFrame, key: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(failures left, failures forgiven, `typed` with the forgiven cells null): see above."""
    rows = forgiven_rows(failed, typed, key)
    if not rows.height:
        return failed, failed.clear(), typed
    forgiven = failed.join(rows, on="_row", how="semi")
    left = failed.join(rows, on="_row", how="anti")
    return left, forgiven, null_failed_cells(typed, forgiven)


def ignored_cells(forgiven: pl.DataFrame) -> pl.DataFrame:
    """The forgiven cells as report rows: code IGNORED, saying why the failure rejected nothing.

    Their values were masked as any report cell's when validate explained them.
    """
    if not forgiven.height:
        return forgiven
    said = pl.format(
        "not sent: the row is marked inactive (is_active = false) and was deactivated, so "
        "this cell was not sent and did not reject the row ({}: {})",
        pl.col("code"),
        pl.col("message"),
    )
    return forgiven.with_columns(pl.lit(IGNORED).alias("code"), said.alias("message"))

"""Rows that name a record of another feed (`[references]`): the name must be known.

A contact's company code must be a company the companies feed holds, or Norce refuses the
contact (companies must exist before customers point at them). The other feed runs first in
a pass, so "known" is its current snapshot's active rows. A row naming an unknown record is
rejected like any bad cell: it keeps its last accepted state, the other rows go on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from etl.contracts import FeedContract
from etl.models import LINE, Validated
from etl.validate import REJECTION_SCHEMA

CODE = "unknown_reference"


def reject_unknown(
    validated: Validated, contract: FeedContract, known: Mapping[str, pl.Series]
) -> Validated:
    """`validated` with the rows naming an unknown record moved to the rejections.

    `known`: field -> the values the referenced feed holds. An empty cell names nothing.
    """
    valid, key = validated.valid, list(contract.key_fields)
    unknown = pl.lit(False)
    cells = []
    for field, values in known.items():
        bad = pl.col(field).is_not_null() & ~pl.col(field).cast(pl.String).is_in(values.implode())
        unknown = unknown | bad
        cells.append(_cells(valid.filter(bad), contract, field))
    found = [c for c in cells if c.height]
    if not found:
        return validated
    # The row's markers of which key parts the file said are gone by now: a part that has a
    # default is taken as unsaid, which spares more old rows, never fewer.
    evidence = [
        (pl.lit(None, valid.schema[k]) if k in contract.defaults else pl.col(k)).alias(k)
        for k in key
    ]
    rejected = valid.filter(unknown).select(*evidence, pl.col(LINE))
    return replace(
        validated,  # rows read, parts, unkeyed lines and merged rows stay as they were
        valid=valid.filter(~unknown),
        rejections=pl.concat([validated.rejections, *found]).sort("line", "field"),
        rejected_keys=pl.concat([validated.rejected_keys, rejected]).unique(
            subset=key, keep="first", maintain_order=True
        ),
    )


def _cells(rows: pl.DataFrame, contract: FeedContract, field: str) -> pl.DataFrame:
    target = contract.references[field]
    feed, _, other = target.partition(".")
    source = contract.field_sources().get(field, f"(default) {field}")
    key = pl.concat_str([pl.col(k).cast(pl.String) for k in contract.key_fields], separator=" / ")
    value = pl.col(field).cast(pl.String)
    message = pl.format(
        f"'{{}}' is not known: feed {feed!r} has no active row with {other} '{{}}' (it may "
        f"have been rejected there: see that feed's report); send it there first, or leave "
        f"{source} empty",
        value,
        value,
    )
    return rows.select(
        pl.col(LINE).alias("line"),
        key.alias("key"),
        pl.lit(field).alias("field"),
        pl.lit(source).alias("source_column"),
        pl.lit(CODE).alias("code"),
        message.alias("message"),
        value.alias("value"),
    ).cast(REJECTION_SCHEMA)  # type: ignore[arg-type]

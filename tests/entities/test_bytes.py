"""A 1% change sends at most 3% of the bytes of the same file sent as all-adds (DESIGN.md)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from etl.models import LINE, STATE, Delta
from etl.to_norce.masterdata.diff import diff
from tests.support.entity_scenarios import build
from tests.support.frames import PRICE

ROWS = 10_000


def price_file(rows: int) -> pl.DataFrame:
    money = pl.Decimal(18, 4)
    i = pl.int_range(0, rows, dtype=pl.Int64)
    frame = pl.select(
        pl.format("SKU-{}", i.cast(pl.String).str.zfill(6)).alias("part_no"),
        pl.when(i % 2 == 0)
        .then(pl.lit("B2C-SEK"))
        .otherwise(pl.lit("B2B-SEK"))
        .alias("price_list_code"),
        pl.lit(1, pl.Int32).alias("quantity_break"),
        pl.lit("SEK").alias("currency"),
        ((i % 997 + 1) * 100 + 95).cast(money).truediv(100).cast(money).alias("price_sale"),
        ((i % 991 + 1) * 40 + 5).cast(money).truediv(100).cast(money).alias("cost_purchase"),
        pl.lit(None, money).alias("cost_unit"),
        ((i % 983 + 1) * 125).cast(money).truediv(100).cast(money).alias("price_recommended"),
        pl.lit(None, money).alias("price_previous"),
        pl.lit(None, money).alias("price_catalog"),
        pl.lit(None, pl.Boolean).alias("is_active"),
    )
    assert frame.schema == pl.Schema(PRICE.fields())
    return frame.with_columns((i + 2).alias(LINE))


def sent_bytes(delta: Delta) -> int:
    return sum(len(c.body_bytes()) for c in build(PRICE, delta, chunk_size=1000))


def test_a_one_percent_change_sends_at_most_three_percent_of_the_bytes() -> None:
    old_file = price_file(ROWS)
    old = old_file.drop(LINE).with_columns(pl.lit("active").alias(STATE))
    step = Decimal("1.0000")
    new = old_file.with_columns(
        pl.when(pl.col(LINE) % 100 == 0)
        .then(pl.col("price_sale") + pl.lit(step, pl.Decimal(18, 4)))
        .otherwise(pl.col("price_sale"))
        .cast(pl.Decimal(18, 4))
        .alias("price_sale")
    )
    delta = diff(old, new, new.clear().select(PRICE.key), PRICE.key, True)
    assert delta.counts() == {
        "adds": 0,
        "changes": ROWS // 100,
        "reactivations": 0,
        "removals": 0,
        "held": 0,
        "spared": 0,
    }
    empty = new.clear()
    everything = Delta(new, empty, empty, empty.drop(LINE), empty.drop(LINE))
    ratio = sent_bytes(delta) / sent_bytes(everything)
    assert ratio <= 0.03, f"the delta is {ratio:.2%} of a full send"
    assert ratio > 0  # it did send the changes

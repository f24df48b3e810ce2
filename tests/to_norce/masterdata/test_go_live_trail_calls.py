"""A go-live's streamed trail names each row's call as the general trail does, at any count.

Many calls (so the key hashes spread over every part the repeat check sorts apart), calls
sharing a label, and a key sent twice in calls far apart: the streamed trail is the general
one (carried_by over delta_rows) or, with a key twice, the general path is taken (None).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.entities.calls import NorceCall
from etl.models import LINE, Delta
from etl.to_norce.masterdata.go_live import go_live_trail
from etl.to_norce.masterdata.staging import carried_by, sink_trail
from etl.to_norce.masterdata.trace import delta_rows
from tests.fixtures.feeds import shipped

KEY = ["part_no"]


def _adds(rng: random.Random, rows: int) -> pl.DataFrame:
    keys = rng.sample(range(100 * rows), rows)
    return pl.DataFrame(
        {"part_no": [f"Å{k}" for k in keys], LINE: [i + 2 for i in range(rows)]},
        schema_overrides={LINE: pl.Int64},
    )


def _calls(adds: pl.DataFrame, size: int, labels: int) -> list[NorceCall]:
    """Consecutive calls of `size` rows; `labels` different labels taken in turn."""
    return [
        NorceCall(
            "Product/ImportProducts", {}, [], f"{n % labels:04d}-add", rows=adds.slice(i, size)
        )
        for n, i in enumerate(range(0, adds.height, size))
    ]


def _delta(adds: pl.DataFrame) -> Delta:
    empty = pl.DataFrame()
    return Delta(adds, empty, empty, empty, empty, empty, empty)


@pytest.mark.parametrize(("rows", "size", "labels"), [(500, 7, 1000), (500, 7, 3), (97, 1, 5)])
def test_each_row_names_the_call_the_general_trail_names(
    rows: int, size: int, labels: int, tmp_path: Path
) -> None:
    adds = _adds(random.Random(rows * size + labels), rows)
    calls, delta = _calls(adds, size, labels), _delta(adds)
    planned = go_live_trail(delta, KEY, calls)
    assert planned is not None
    sink_trail(planned, delta, KEY, tmp_path / "t.parquet")
    expected = carried_by(delta_rows(delta, KEY), calls, shipped("products"))
    assert_frame_equal(pl.read_parquet(tmp_path / "t.parquet"), expected)


@pytest.mark.parametrize("seed", range(8))
def test_a_key_twice_anywhere_takes_the_general_path(seed: int) -> None:
    rng = random.Random(seed)
    adds = _adds(rng, 400)
    first, later = sorted(rng.sample(range(400), 2))
    twice = adds.with_columns(
        pl.when(pl.int_range(pl.len()) == later)
        .then(pl.lit(adds["part_no"][first]))
        .otherwise(pl.col("part_no"))
        .alias("part_no")
    )
    assert go_live_trail(_delta(twice), KEY, _calls(twice, 9, 1000)) is None
    assert go_live_trail(_delta(adds), KEY, _calls(adds, 9, 1000)) is not None

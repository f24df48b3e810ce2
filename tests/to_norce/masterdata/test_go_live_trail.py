"""A go-live's streamed trail is the general trail, row for row and type for type.

Seeded generated deltas (unicode and numeric keys, one- and three-part keys, inactive adds,
dormant rows back with changed values, marked lines, calls in and out of file order, a key
sent twice) go through both paths: the general one (carried_by over delta_rows, the removal
causes, the changed values) and, where it applies, go_live_trail streamed by sink_trail.
Deltas it must not take (anything but adds, values to keep) must give None.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.entities.calls import NorceCall
from etl.models import CHANGED, IS_ACTIVE, LINE, Delta
from etl.to_norce.masterdata.go_live import go_live_trail
from etl.to_norce.masterdata.staging import carried_by, sink_trail, with_removal_causes
from etl.to_norce.masterdata.trace import delta_rows, with_changed_values
from tests.fixtures.feeds import shipped

WORDS = ["Å", "ö", "x", "€", "漢", "a b", "0", "/"]


def _adds(rng: random.Random, rows: int, many_parts: bool, inactive: bool) -> pl.DataFrame:
    keys = rng.sample(range(10 * rows), rows)
    data: dict[str, object] = {
        "part_no": [f"{rng.choice(WORDS)}{k}" for k in keys],
        "name": [rng.choice([None, *WORDS]) for _ in keys],
        LINE: [i + 2 for i in range(rows)],
    }
    if many_parts:  # the prices feed's key: part, list, break
        data["price_list_code"] = [rng.choice(WORDS) for _ in keys]
        data["quantity_break"] = [rng.randint(0, 3) for _ in keys]
    if inactive:
        data[IS_ACTIVE] = [rng.choice([True, False, None]) for _ in keys]
    return pl.DataFrame(data, schema_overrides={LINE: pl.Int64})


def _calls(adds: pl.DataFrame, sizes: int, shuffle: random.Random | None) -> list[NorceCall]:
    parts = [adds.slice(i, sizes) for i in range(0, adds.height, sizes)]
    if shuffle is not None:
        shuffle.shuffle(parts)
    return [
        NorceCall("Product/ImportProducts", {}, [], f"{n:04d}-add", rows=part)
        for n, part in enumerate(parts)
    ]


def _general(delta: Delta, key: list[str], calls: list[NorceCall]) -> pl.DataFrame:
    contract = shipped("prices" if len(key) > 1 else "products")
    assert list(contract.key_fields) == key
    trail = carried_by(delta_rows(delta, key), calls, contract)
    if LINE in delta.marked.columns:
        trail = with_removal_causes(trail, delta.marked, key)
    return with_changed_values(trail, delta, key, None)


def _streamed(delta: Delta, key: list[str], calls: list[NorceCall], path: Path) -> pl.DataFrame:
    planned = go_live_trail(delta, key, calls)
    assert planned is not None
    sink_trail(planned, delta, key, path)
    return pl.read_parquet(path, glob=False)


def _delta(adds: pl.DataFrame, marked: pl.DataFrame | None = None) -> Delta:
    empty = pl.DataFrame()
    return Delta(adds, empty, empty, empty, empty, empty, empty if marked is None else marked)


@pytest.mark.parametrize("seed", range(12))
def test_a_go_live_streams_the_general_trail(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    many_parts, inactive = bool(seed % 2), bool(seed % 3)
    key = ["part_no", "price_list_code", "quantity_break"] if many_parts else ["part_no"]
    adds = _adds(rng, rng.randint(1, 60), many_parts, inactive)
    marked = None
    if seed % 4 == 1:  # LINE in marked with no row: the general path still types `line`
        marked = adds.select(*key, LINE).clear()
    calls = [] if seed % 5 == 4 else _calls(adds, rng.randint(1, 7), None)
    delta = _delta(adds, marked)
    expected = _general(delta, key, calls)
    assert_frame_equal(_streamed(delta, key, calls, tmp_path / "t.parquet"), expected)


def test_marked_lines_are_joined_as_the_general_path_joins_them(tmp_path: Path) -> None:
    adds = _adds(random.Random(7), 20, False, True)
    marked = adds.head(3).select("part_no", pl.col(LINE) + 100)
    calls = _calls(adds, 6, None)
    delta = _delta(adds, marked)
    assert_frame_equal(
        _streamed(delta, ["part_no"], calls, tmp_path / "t.parquet"),
        _general(delta, ["part_no"], calls),
    )


def test_calls_out_of_order_or_a_key_twice_take_the_general_path() -> None:
    adds = _adds(random.Random(3), 30, False, False)
    shuffled = _calls(adds, 4, random.Random(1))
    assert not pl.concat([c.rows for c in shuffled if c.rows is not None]).equals(adds)
    assert go_live_trail(_delta(adds), ["part_no"], shuffled) is None
    twice = pl.concat([adds, adds.head(1)])
    assert go_live_trail(_delta(twice), ["part_no"], _calls(twice, 31, None)) is None
    short = _calls(adds, 4, None)[:-1]  # a row not sent
    assert go_live_trail(_delta(adds), ["part_no"], short) is None


def test_anything_but_adds_or_a_dormant_row_back_takes_the_general_path() -> None:
    adds = _adds(random.Random(5), 10, False, False)
    calls = _calls(adds, 5, None)
    empty = pl.DataFrame()
    removal = Delta(adds, empty, empty, adds.head(1), empty, empty, empty)
    assert go_live_trail(removal, ["part_no"], calls) is None
    back = adds.with_columns(
        pl.Series(CHANGED, [["name"]] + [[] for _ in range(9)], dtype=pl.List(pl.String))
    )
    assert go_live_trail(_delta(back), ["part_no"], _calls(back, 5, None)) is None
    assert go_live_trail(_delta(adds), ["part_no"], calls) is not None

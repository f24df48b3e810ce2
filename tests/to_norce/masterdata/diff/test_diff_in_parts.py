"""A snapshot larger than the part the diff compares at a time gives the same delta.

The diff compares a file's fields with its snapshot a part of the snapshot at a time (half a
million rows), so a file in another order than its snapshot pairs rows across every part.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.models import CHANGED, LINE, STATE
from etl.to_norce.masterdata.diff import diff

_ROWS = 1_200_000  # more than two parts


def _snapshot(path: Path) -> pl.LazyFrame:
    n = pl.int_range(0, _ROWS, eager=True)
    frame = pl.DataFrame(
        {
            "part_no": "P" + n.cast(pl.String),
            "name": "a name long enough to be kept out of line " + n.cast(pl.String),
            "weight": n.cast(pl.Float64) / 10,
            STATE: pl.repeat("active", _ROWS, eager=True),
        }
    )
    frame.write_parquet(path, compression="lz4", statistics=False)
    return pl.scan_parquet(path, glob=False)


def _file(old: pl.LazyFrame) -> pl.DataFrame:
    """The snapshot's rows shuffled: every 1000th gone, names and weights changed, two adds."""
    n = pl.int_range(pl.len())
    rows = old.drop(STATE).collect().filter(n % 1000 != 7)
    rows = rows.with_columns(
        pl.when(n % 997 == 1).then(pl.col("name") + " (ny)").otherwise(pl.col("name")),
        pl.when(n % 1009 == 2).then(pl.col("weight") + 1).otherwise(pl.col("weight")),
    )
    added = pl.DataFrame({"part_no": ["NEW1", "NEW2"], "name": ["x", None], "weight": [1.0, None]})
    rows = pl.concat([rows, added]).sample(fraction=1.0, shuffle=True, seed=18)
    return rows.with_columns((n + 2).cast(pl.Int64).alias(LINE))


@pytest.mark.slow
def test_a_shuffled_file_against_a_snapshot_of_several_parts(tmp_path: Path) -> None:
    old = _snapshot(tmp_path / "snapshot.parquet")
    new = _file(old)
    delta = diff(old, new, pl.DataFrame(schema={"part_no": pl.String}), ["part_no"], True)

    snapshot = old.collect().with_row_index("i")
    kept = snapshot.filter(pl.col("i") % 1000 != 7).with_row_index("j")
    name = kept.filter(pl.col("j") % 997 == 1).get_column("part_no").to_list()
    weight = kept.filter(pl.col("j") % 1009 == 2).get_column("part_no").to_list()
    expected: dict[str, list[str]] = {p: ["name"] for p in name}
    for p in weight:
        expected[p] = [*expected.get(p, []), "weight"]
    changes = {r["part_no"]: sorted(r[CHANGED]) for r in delta.changes.iter_rows(named=True)}
    assert len(changes) > 2000 and changes == expected
    gone = snapshot.filter(pl.col("i") % 1000 == 7).get_column("part_no")
    assert sorted(delta.removals.get_column("part_no")) == sorted(gone)
    assert sorted(delta.adds.get_column("part_no")) == ["NEW1", "NEW2"]
    assert not delta.reactivations.height

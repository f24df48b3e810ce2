"""The trail's old and new values, straight from a delta and a real snapshot file."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.models import CHANGED, LINE, STATE, Delta
from etl.to_norce.masterdata.trace import delta_rows, with_changed_values

KEY = ["code"]


def delta(changes: pl.DataFrame) -> Delta:
    empty = changes.clear().drop(CHANGED)
    return Delta(empty, changes, changes.clear(), empty.drop(LINE), empty.drop(LINE))


def test_a_personal_field_is_kept_as_reports_show_it(tmp_path: Path) -> None:
    base = tmp_path / "base.parquet"
    pl.DataFrame(
        {"code": ["K1", "K2"], "ssn": ["19800101-1234", "19900101-5678"], "city": ["Lund", "Umeå"]}
    ).with_columns(pl.lit("active").alias(STATE)).write_parquet(base)
    changes = pl.DataFrame(
        {
            "code": ["K1"],
            "ssn": ["19800101-9999"],
            "city": ["Lund"],
            LINE: [2],
            CHANGED: [["ssn"]],
        }
    )
    d = delta(changes)

    trail = with_changed_values(delta_rows(d, KEY), d, KEY, base, frozenset({"ssn"}))

    [row] = trail.iter_rows(named=True)
    assert (row["old:ssn"], row["new:ssn"]) == ("*********1234", "*********9999")
    assert "old:city" not in trail.columns  # no row changed it


def test_a_field_the_old_snapshot_lacked_reads_as_empty(tmp_path: Path) -> None:
    base = tmp_path / "base.parquet"
    pl.DataFrame({"code": ["K1"], STATE: ["active"]}).write_parquet(base)
    changes = pl.DataFrame({"code": ["K1"], "city": ["Lund"], LINE: [2], CHANGED: [["city"]]})
    d = delta(changes)

    trail = with_changed_values(delta_rows(d, KEY), d, KEY, base)

    assert trail.select("old:city", "new:city").row(0) == (None, "Lund")

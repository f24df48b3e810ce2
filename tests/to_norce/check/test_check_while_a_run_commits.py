"""`run.py check` reading a feed's snapshot while a run of that feed commits.

The run writes a new snapshot, points the ledger at it and removes the old file; check may
have read the old pointer just before. It reads the ledger again; a pointer that keeps naming
a missing file is a clear error, never a traceback.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

from etl.config.settings import Settings
from etl.errors import EtlError
from etl.models import STATE
from etl.to_norce.check_state import CheckState

FIELDS: dict[str, pl.DataType] = {"part_no": pl.String(), "name": pl.String()}


def ledger_naming(home: Path, snapshot: str) -> None:
    state = home / "state"
    (state / "snapshots").mkdir(parents=True)
    with closing(sqlite3.connect(state / "ledger.sqlite")) as db:
        db.execute("CREATE TABLE snapshots (feed TEXT PRIMARY KEY, path TEXT NOT NULL)")
        db.execute("INSERT INTO snapshots VALUES ('products', ?)", (snapshot,))
        db.commit()


def test_a_snapshot_the_ledger_names_is_read(tmp_path: Path) -> None:
    ledger_naming(tmp_path, "products/run-2.parquet")
    (tmp_path / "state/snapshots/products").mkdir()
    frame = pl.DataFrame({"part_no": ["A"], "name": ["Alpha"], STATE: ["active"]})
    frame.write_parquet(tmp_path / "state/snapshots/products/run-2.parquet")

    read = CheckState(Settings(home=tmp_path)).snapshot("products", FIELDS)

    assert read.rows() == [("A", "Alpha", "active")]


def test_a_snapshot_removed_under_check_is_an_error_that_says_so(tmp_path: Path) -> None:
    ledger_naming(tmp_path, "products/run-1.parquet")  # the run removed it after committing

    with pytest.raises(EtlError, match="committed runs while check read its snapshot"):
        CheckState(Settings(home=tmp_path)).snapshot("products", FIELDS)

"""Reading a few whole rows of a snapshot costs about their size, not the snapshot's text.

A string polars filters out of a Parquet scan still points into the buffer its page was
decoded into: reading 1.5% of a ten-million-row snapshot held every text buffer of the file
at once (about 500 MB) until the rows were put in order. Measured in a fresh process whose
allocator gives freed pages back at once, so its peak is what the read held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.to_norce.masterdata.old_rows import rows_at
from tests.support.paths import REPO

_ROWS = 2_000_000
_MEASURE = """
import json, sys
import polars as pl
from etl.to_norce.masterdata.old_rows import rows_at

def peak_mb():
    # VmHWM, not getrusage: a child's ru_maxrss starts at its parent's (kept across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, rows = sys.argv[1], int(sys.argv[2])
scan, at = pl.scan_parquet(path, glob=False), pl.Series(range(7, rows, 100), dtype=pl.UInt32)
before = peak_mb()
found = rows_at(scan, at)
print(json.dumps({"read_mb": peak_mb() - before, "rows": found.height}))
"""


def _snapshot(path: Path) -> float:
    """A snapshot of unique long names, in row groups of 50,000 rows; their size in MB.

    Small row groups keep what the engine decodes at a time well below half the file's text,
    so the bound below tells reading a part at a time from decoding every page at once.
    """
    n = pl.arange(0, _ROWS, eager=True)
    name = "a product name long enough to be kept out of line in polars' string views, " + n.cast(
        pl.String
    )
    frame = pl.DataFrame({"part_no": n.cast(pl.String), "name": name})
    frame.write_parquet(path, compression="lz4", statistics=False, row_group_size=50_000)
    return float(name.str.len_bytes().sum()) / 2**20


@pytest.mark.slow
def test_reading_one_row_in_a_hundred_holds_no_text_of_the_others(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.parquet"
    text_mb = _snapshot(path)
    env = os.environ | {
        "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0",
        "PYTHONPATH": str(REPO),
    }
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(_ROWS)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO,
    )
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    assert measured["rows"] == _ROWS // 100
    # 1% of the rows: their text is 1.5 MB of the 150 MB; what the engine decodes at a time
    # comes on top, but never every page of the file at once.
    assert measured["read_mb"] < text_mb / 2, (measured, text_mb)


def test_rows_at_gives_the_rows_in_the_order_asked(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.parquet"
    snapshot = pl.DataFrame(
        {
            "part_no": [f"P{i}" for i in range(300)],
            "name": [
                None if i % 7 == 0 else f"a name that is well over twelve bytes {i}"
                for i in range(300)
            ],
            "weight": [float(i) for i in range(300)],
        }
    )
    snapshot.write_parquet(path, row_group_size=64)
    at = pl.Series([299, 0, 7, 150, 7, 64], dtype=pl.UInt32)
    found = rows_at(pl.scan_parquet(path, glob=False), at)
    assert_frame_equal(found, snapshot[at.to_list()])

"""bench/table.py prints every row of issue 18's table with a number and writes it as JSON.

A smoke run at a tiny scale in a subprocess, as a user runs it: real homes, real feed runs,
a real SFTP server and real uvicorn on loopback. It checks the table's shape and that every
figure was measured, never whether a target is met (targets are judged in the bench).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.table import ROWS, _parser, sizes
from tests.support.paths import REPO

RATIO = re.compile(r"^\d+\.\d\dx$")


def _table_lines(stdout: str) -> dict[int, list[str]]:
    """The Markdown table's body rows by row number, each split into its cells."""
    found = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].isdigit():
            found[int(cells[0])] = cells
    return found


@pytest.mark.slow
def test_a_tiny_run_prints_and_writes_every_row_with_numbers(tmp_path: Path) -> None:
    out = tmp_path / "table.json"
    argv = [sys.executable, str(REPO / "bench" / "table.py"), "--scale", "0.001"]
    argv += ["--repeat", "1", "--data", str(tmp_path / "data"), "--json", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]

    printed = _table_lines(done.stdout)
    assert sorted(printed) == list(ROWS), done.stdout
    for number, cells in printed.items():
        # row | what | size | baseline | ours | ratio | rounds | peak | target | verdict | note
        assert RATIO.match(cells[5]), (number, cells)
        assert re.search(r"\d", cells[3]) and re.search(r"\d", cells[4]), (number, cells)
        assert cells[9].rstrip("*") in ("met", "NOT met"), (number, cells)

    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["failed"] == {}
    assert [row["number"] for row in document["rows"]] == list(ROWS)
    for row in document["rows"]:
        assert len(row["base"]) == len(row["ours"]) == len(row["ratios"]) == 1, row
        assert all(v > 0 and math.isfinite(v) for v in row["base"] + row["ours"]), row
        assert row["median_ratio"] == pytest.approx(row["ratios"][0]), row
        assert row["stated_size"] is (row["number"] == 8), row  # only the senders are full size
    peaked = {row["number"] for row in document["rows"] if row["median_peak_mib"]}
    assert peaked == {3, 4, 5, 6}


def test_scale_shrinks_every_size_to_its_floor_and_a_size_flag_wins() -> None:
    args = _parser().parse_args(["--scale", "0.0001", "--orders", "50"])
    got = sizes(args)
    assert (got.rows, got.big_rows, got.xml_records) == (1_000, 10_000, 1_000)
    assert (got.orders, got.requests, got.senders) == (50, 100, 20)
    assert sizes(_parser().parse_args([])).big_rows == 10_000_000

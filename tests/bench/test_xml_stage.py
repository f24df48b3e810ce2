"""bench/xml_stock.py --stage measures row 6's stage alone, beside bare lxml and another tree.

A smoke run at a tiny size in a subprocess, as a user runs it: a real home whose first run
made the snapshot, then fresh workers for bare lxml, this tree and a `--before` tree (here
this tree again, by path). It checks that every figure was measured and the rows counted,
never whether a target is met.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO


@pytest.mark.slow
def test_the_stage_alone_is_measured_against_bare_lxml_and_a_before_tree(tmp_path: Path) -> None:
    argv = [sys.executable, str(REPO / "bench" / "xml_stock.py"), "--rows", "1000", "--stage"]
    argv += ["--repeat", "1", "--before", str(REPO), "--data", str(tmp_path / "data")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]

    lines = done.stdout.splitlines()
    assert sum(line.startswith("  round ") for line in lines) == 1
    figures = {
        m[1]: m
        for line in lines
        if (m := re.match(r"^  (bare|ours|before) +CPU +([\d.]+) s", line))
    }
    assert sorted(figures) == ["bare", "before", "ours"], done.stdout
    assert all(float(m[2]) > 0 for m in figures.values()), done.stdout
    assert re.search(r"ours +CPU .* peak +\d+ MB  CPU +[\d.]+x bare lxml", done.stdout)
    assert re.search(r"ours / before: CPU [\d.]+x, peak [\d.]+x", done.stdout)
    assert "rows: 999 valid, 1 rejected" in done.stdout

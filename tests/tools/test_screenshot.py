"""tools/screenshot.py says plainly when there is no Chromium, and takes nothing then."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def test_without_chromium_it_says_so_and_exits_3(tmp_path: Path) -> None:
    out = tmp_path / "console.png"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "screenshot.py"),
            "--out",
            str(out),
            "--chromium",
            str(tmp_path / "no-such-chromium"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "Chromium is not installed" in done.stdout
    assert not out.exists()

"""Run a probe script in a fresh interpreter: what a start really imports, not this process's."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.support.paths import REPO


def probe(script: str, *args: str) -> dict[str, Any]:
    """`script` run with `args` (its sys.argv[1:]) from the repo; the JSON of its last line.

    The script prints one JSON object last; a failure shows the end of its stderr."""
    run = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0 and run.stdout.strip(), run.stderr[-2000:]
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))

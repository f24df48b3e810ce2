"""A real `run.py` in a child process under an address-space limit, its own peak RSS measured."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

ADDRESS_SPACE = 2 * 1024**3
PEAK_RSS = 1000 * 1024**2


@dataclass(frozen=True)
class Run:
    """A finished child: exit code, what it printed, its peak RSS in bytes."""

    code: int
    output: str
    peak_rss: int


def run_limited(home: Path, *args: str) -> Run:
    """`run.py ARGS` on `home` in a child limited to ADDRESS_SPACE; its own peak RSS measured."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    log = home / "run.log"
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, str(REPO / "run.py"), "--config", "etl.toml", *args],
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limit,
        )
        # wait4, not wait: the rusage of this child alone, not of every child of pytest.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return Run(child.returncode, log.read_text(), usage.ru_maxrss * 1024)

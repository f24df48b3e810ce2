"""This process's open descriptors onto files under a folder.

A count of every descriptor the process holds is not the batch's to answer for: a server
thread of another test in the same xdist worker opens and closes its own meanwhile (seen
as a flaky count under load). A descriptor onto a file under the test's folder is the
batch's, its temp files' included (a deleted one still reads back under its old path).
"""

from __future__ import annotations

import os
from pathlib import Path


def open_under(root: Path) -> set[str]:
    """The targets of this process's descriptors that lie under `root`, by descriptor."""
    prefix = f"{os.path.realpath(root)}{os.sep}"
    held: set[str] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since it was listed (the listing's own descriptor, another thread's)
        if target.startswith(prefix):
            held.add(f"{fd} -> {target}")
    return held

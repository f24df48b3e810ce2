"""A process's start: the commands imported with the garbage collector paused, then frozen.

`run.py`, `python -m etl` and the `erp-norce-etl` script start here. Importing the commands
makes some hundred thousand objects (modules, classes, functions, pydantic and polars
metadata) that live as long as the process. Left to the collector, each of them was walked
again and again: some two hundred collections while they were imported, then every one once
more at exit, when Python's finalization collects before it tears the modules down (0.3 s of
CPU of every `run.py once`, and on a busy machine most of a second of its wall time). Frozen
(`gc.freeze`), they are left out of every later collection; what the command itself makes is
collected as before. The cyclic garbage the import leaves (about a thousand objects) is kept.

Tests call `etl.cli.main` directly, so a test process never freezes what it holds.
"""

from __future__ import annotations

import gc
import importlib
from typing import TYPE_CHECKING

from etl.lazy import imported_when_called

COMMANDS = "etl.cli"

if TYPE_CHECKING:
    from etl.cli import main as commands
else:  # imported in main(), while the collector is paused
    commands = imported_when_called(COMMANDS, "main")


def main() -> int:
    """Import the commands with the collector paused and their objects frozen, then run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        importlib.import_module(COMMANDS)
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    return int(commands())

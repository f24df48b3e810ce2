"""A process's start (`run.py`, `python -m etl`, `erp-norce-etl`): etl.start.

The commands are imported with the collector paused and their objects frozen, so neither the
import nor the exit walks them (etl/start.py says why); the command then runs with the
collector on, and `once` does not load the scheduler's part of APScheduler.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from tests.support.import_probe import probe
from tests.support.paths import REPO

# Run as a start is: run.py as __main__. A collection is counted as during the import while
# etl.cli is loading (in sys.modules, its `main` not defined yet).
_PROBE = """
import gc, json, runpy, sys
during_import = []

def count(phase, info):
    cli = sys.modules.get("etl.cli")
    if phase == "start" and cli is not None and not hasattr(cli, "main"):
        during_import.append(info["generation"])

gc.callbacks.append(count)
gc.disable() if sys.argv[2] == "disabled" else gc.enable()
sys.argv = ["run.py", "--home", sys.argv[1], "once"]
try:
    runpy.run_path("run.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
gc.callbacks.remove(count)
print(json.dumps({
    "code": code,
    "collections_during_import": len(during_import),
    "frozen": gc.get_freeze_count(),
    "enabled": gc.isenabled(),
    "scheduler_loaded": "apscheduler.schedulers" in sys.modules,
}))
"""


@pytest.mark.slow
def test_a_start_imports_the_commands_uncollected_then_runs_with_the_collector_on(
    tmp_path: Path,
) -> None:
    result = probe(_PROBE, str(tmp_path), "enabled")

    assert result["code"] == 0
    assert result["collections_during_import"] == 0
    assert result["frozen"] > 10_000  # modules, classes and functions of every command
    assert result["enabled"] is True
    assert result["scheduler_loaded"] is False


def test_a_start_leaves_a_collector_it_found_off_off(tmp_path: Path) -> None:
    # A home with one feed and no file to take: the start is what is looked at, not the run.
    (tmp_path / "drop" / "products").mkdir(parents=True)
    (tmp_path / "schemas").mkdir()
    shutil.copy(REPO / "etl" / "embedded" / "schemas" / "products.toml", tmp_path / "schemas")
    store = f'[stores.erp]\nkind = "local"\nroot = "{tmp_path / "drop"}"\n'
    (tmp_path / "etl.toml").write_text(store, encoding="utf-8")
    result = probe(_PROBE, str(tmp_path), "disabled")

    assert result["code"] == 0
    assert result["enabled"] is False


def test_every_entry_point_starts_through_etl_start() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert scripts["scripts"] == {"erp-norce-etl": "etl.start:main"}
    for entry in (REPO / "run.py", REPO / "etl" / "__main__.py"):
        assert "from etl.start import main\n" in entry.read_text(encoding="utf-8")

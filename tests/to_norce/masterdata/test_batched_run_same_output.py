"""A products feed run on a file read in batches leaves exactly what the whole-file read leaves.

Two homes take the same three exports (a go-live, a night with changes, adds, removals and
invalid rows, then a night that loses too many rows, held) with the clock stopped at the
same instant, so run ids match. One reads every file in batches (`batched_from_bytes = 1`),
the other whole (the files are far below the default threshold). Every file the runs leave
(payloads and their requests, the trail, the manifests, the rejection reports, the
snapshots) must be the same, byte for byte or (Parquet, XLSX) frame for frame.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.runtime import Runtime
from etl.to_norce.run import run_feed
from tests.support.masterdata import settings_for, write_cp1252_products
from tests.support.paths import SCHEMAS

ROWS = 400
# Manifest keys that measure the run (time, memory), not what it did.
MEASURED = {"timings_seconds", "peak_rss_mb"}


def _row(i: int, name: str = "Handske", ean_ok: bool = True) -> str:
    ean = _ean(i) if ean_ok else _ean(i)[:-1] + str((int(_ean(i)[-1]) + 1) % 10)
    text = "Läder \u2013 \u20ac"  # cp1252's en dash and euro sign
    return f"{i:07d};ACME;Acme AB;AG-{i};PG-{i // 4};{name} {i};{text};CAT-{i % 5};{ean};25;0,{i % 90 + 10}"


def _ean(i: int) -> str:
    body = f"735{i:09d}"
    odd = sum(int(d) * (1 if n % 2 == 0 else 3) for n, d in enumerate(body))
    return body + str((10 - odd % 10) % 10)


def _exports() -> list[list[str]]:
    first = [_row(i) for i in range(ROWS)]
    second = [
        _row(i, "Handske ny" if i % 50 == 7 else "Handske", ean_ok=i % 97 != 5)
        for i in range(ROWS)
        if i % 100 != 3  # four removals, within the guard
    ] + [_row(i) for i in range(ROWS, ROWS + 3)]
    third = [_row(i) for i in range(ROWS // 2)]  # half the rows gone: held
    return [first, second, third]


def _home(root: Path, batched_from: int) -> Settings:
    home, erp = root / "home", root / "erp"
    (home / "schemas").mkdir(parents=True)
    (erp / "products").mkdir(parents=True)
    for contract in SCHEMAS.glob("*.toml"):
        (home / "schemas" / contract.name).write_text(contract.read_text("utf-8"), "utf-8")
    settings = settings_for(home, LocalStoreSettings(root=erp))
    return settings.model_copy(update={"batched_from_bytes": batched_from})


def _run(settings: Settings, n: int, rows: list[str]) -> dict[str, Any]:
    drop = settings.stores["erp"].root / "products"  # type: ignore[union-attr]
    write_cp1252_products(drop / f"products_{n}.csv", rows)
    at = dt.datetime(2026, 11, 20 + n, 2, 15, tzinfo=dt.UTC)
    os.utime(drop / f"products_{n}.csv", (at.timestamp() - 60, at.timestamp() - 60))
    rt = Runtime.open(settings, clock=lambda: at, sleep=lambda s: None)
    try:
        [outcome] = run_feed(rt, load_contracts(settings)["products"])
    finally:
        rt.close()
    return {"outcome": outcome.outcome, "counts": outcome.counts, "run": outcome.run_id}


def _files(home: Path) -> dict[str, Path]:
    kept = ("archive", "outbox", "state/snapshots")
    return {
        str(p.relative_to(home)): p
        for p in sorted(home.rglob("*"))
        if p.is_file() and str(p.relative_to(home)).startswith(kept)
    }


def _manifest(path: Path, root: Path) -> dict[str, Any]:
    """A manifest as a home at `root` wrote it, its folder names as `<root>`, measures left out."""
    text = path.read_text("utf-8").replace(json.dumps(str(root))[1:-1], "<root>")
    return {k: v for k, v in json.loads(text).items() if k not in MEASURED}


def _sheet(path: Path, sheet: str, root: Path) -> pl.DataFrame:
    """A report's sheet as text, the home's folder names as `<root>`; without the time the
    inbox copy was made (`Received at`), the one cell that says when the test ran."""
    frame = pl.read_excel(path, sheet_name=sheet, engine="calamine", infer_schema_length=0)
    frame = frame.filter(pl.col(frame.columns[0]).ne_missing("Received at"))
    return frame.with_columns(pl.all().str.replace_all(str(root), "<root>", literal=True))


def _assert_same_file(name: str, mine: Path, theirs: Path) -> None:
    # The home's parent (`batched/` or `whole/`): the one part of paths written that differs.
    at = len(Path(name).parts)
    if name.endswith(".parquet"):
        read = pl.read_parquet
        assert_frame_equal(read(mine, glob=False), read(theirs, glob=False))
    elif name.endswith(".xlsx"):
        for sheet in pl.read_excel(mine, sheet_id=0, engine="calamine"):
            assert_frame_equal(
                _sheet(mine, sheet, mine.parents[at]), _sheet(theirs, sheet, theirs.parents[at])
            )
    elif name.endswith("manifest.json"):
        assert _manifest(mine, mine.parents[at]) == _manifest(theirs, theirs.parents[at])
    else:
        assert mine.read_bytes() == theirs.read_bytes(), name


def test_batched_and_whole_file_runs_leave_the_same_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    batched, whole = _home(tmp_path / "batched", 1), _home(tmp_path / "whole", 1 << 40)
    for n, rows in enumerate(_exports(), start=1):
        with caplog.at_level(logging.INFO, logger="etl.read.batched"):
            in_batches = _run(batched, n, rows)
        assert f"products: products_{n}.csv: read in 1 batches" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="etl.read.batched"):
            assert _run(whole, n, rows) == in_batches
        assert "read in" not in caplog.text
    b_files, w_files = _files(batched.home), _files(whole.home)
    assert list(b_files) == list(w_files)
    assert any(n.endswith(".xlsx") for n in b_files)  # the invalid rows' report
    assert any(n.endswith("-remove.json") for n in b_files)  # the second run's removals
    for name, path in b_files.items():
        _assert_same_file(name, path, w_files[name])

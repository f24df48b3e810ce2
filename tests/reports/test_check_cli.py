"""`run.py check` as an operator runs it: a real process, the shipped samples, no state touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.fixtures.feeds import REPO, SAMPLES, SCHEMAS

pytestmark = pytest.mark.slow

SAMPLE_COUNTS = {
    "products": (
        "products/products_20261120.csv",
        10,
        7,
        3,
        {"checksum": 1, "pattern": 1, "required": 1, "type": 1},
    ),
    "prices": (
        "prices/prices_20261120.csv",
        12,
        9,
        3,
        {"duplicate_key": 2, "pattern": 1, "range": 1},
    ),
    "stock": ("stock/stock_20261120.xml", 10, 7, 3, {"duplicate_key": 2, "type": 1}),
}


def run_check(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ETL_CONFIG"}
    command = [
        sys.executable,
        "run.py",
        *(["--config", str(config)] if config else []),
        "check",
        *args,
    ]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, Path]:
    """Settings whose home is an empty folder, so any state written would show."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{home}"\nschemas_dir = "{SCHEMAS}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{SAMPLES}"\nread_only = true\n',
        encoding="utf-8",
    )
    return home, config


@pytest.mark.parametrize("feed", sorted(SAMPLE_COUNTS))
def test_check_reports_rejections_and_changes_no_state(
    tmp_path: Path, home: tuple[Path, Path], feed: str
) -> None:
    sample, rows, valid, rejected, codes = SAMPLE_COUNTS[feed]
    path, out = SAMPLES / sample, tmp_path / "out"
    before = path.read_bytes()

    result = run_check(str(path), "--feed", feed, "--out", str(out), config=home[1])

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: {rows} rows, {valid} valid, {rejected} rejected"
    stem = path.stem + ".rejected"
    assert lines[1:3] == [f"  report: {out / stem}.xlsx", f"  report: {out / stem}.csv"]
    assert lines[3:] == [f"  {code}: {n}" for code, n in sorted(codes.items())]
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.csv", f"{stem}.xlsx"]
    summary = openpyxl.load_workbook(out / f"{stem}.xlsx")["Summary"]
    counted = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r[0] in codes}
    assert counted == codes
    assert list(home[0].iterdir()) == []  # no state/, archive/, inbox/ or outbox/
    assert path.read_bytes() == before


def test_check_with_the_embedded_default_settings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_check(
        str(SAMPLES / "prices" / "prices_20261120.csv"), "--feed", "prices", "--out", str(out)
    )

    assert result.returncode == 1, result.stderr
    assert "12 rows, 9 valid, 3 rejected" in result.stdout
    assert len(list(out.glob("prices_20261120.rejected.*"))) == 2


def test_check_of_a_clean_file_exits_0_without_reports(
    tmp_path: Path, home: tuple[Path, Path]
) -> None:
    clean = tmp_path / "prices_ok.csv"
    clean.write_bytes(
        b"\xef\xbb\xbfItemNo,PriceList,Currency,Price,PurchaseCost,RRP\r\n1,L,SEK,9.50,,\r\n"
    )
    out = tmp_path / "out"

    result = run_check(str(clean), "--feed", "prices", "--out", str(out), config=home[1])

    assert (result.returncode, result.stdout) == (0, f"{clean}: 1 rows, 1 valid, 0 rejected\n")
    assert not any(out.glob("*.rejected.*"))
    assert list(home[0].iterdir()) == []


def test_check_of_an_unreadable_file_says_why(tmp_path: Path, home: tuple[Path, Path]) -> None:
    empty = tmp_path / "prices_empty.csv"
    empty.write_bytes(b"")

    result = run_check(
        str(empty), "--feed", "prices", "--out", str(tmp_path / "out"), config=home[1]
    )

    assert result.returncode == 1
    assert (
        result.stdout
        == f"{empty}: REJECTED (parse): prices_empty.csv: the file is empty (0 bytes)\n"
    )
    assert list(home[0].iterdir()) == []

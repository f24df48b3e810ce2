"""`run.py check` as an operator runs it: a real process, every shipped sample, no state touched."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from etl.read.reports import CHECK_CLEAN, CHECK_FILE, CHECK_ROWS, NOT_COUNTED
from etl.to_norce.check_feeds import FEED_HEADER
from tests.support.paths import REPO, SAMPLES, SCHEMAS

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
    "prices_xlsx": (
        "prices_xlsx/kampanjpriser_20261120.xlsx",
        12,
        7,
        5,
        {"duplicate_key": 2, "pattern": 1, "range": 1, "type": 1},
    ),
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


def printed_lines(stdout: str) -> list[str]:
    """What `check` prints after the header that names the feed and why it reads the file."""
    return [line for line in stdout.splitlines() if not line.startswith(FEED_HEADER)]


def printed_summary(stdout: str) -> dict[str, str]:
    """The label: value lines `check` prints before the codes and the report paths."""
    out = {}
    for line in printed_lines(stdout):
        if line.startswith(("Rejected cells per error code:", "  ", "Report: ")):
            break
        label, _, value = line.partition(":")
        out[label] = value.strip()
    return out


def sheet_summary(xlsx: Path) -> dict[str, str]:
    """The summary sheet's label/value rows, as text."""
    rows = openpyxl.load_workbook(xlsx)["Summary"].iter_rows(values_only=True)
    out = {}
    for label, value, _ in rows:
        if label is None:
            break
        out[str(label)] = str(value)
    return out


@pytest.mark.parametrize("feed", sorted(SAMPLE_COUNTS))
def test_check_prints_the_reports_summary_and_changes_no_state(
    tmp_path: Path, home: tuple[Path, Path], feed: str
) -> None:
    sample, rows, valid, rejected, codes = SAMPLE_COUNTS[feed]
    path, out = SAMPLES / sample, tmp_path / "out"
    before = path.read_bytes()

    result = run_check(str(path), "--feed", feed, "--out", str(out), config=home[1])

    assert result.returncode == 1, result.stderr
    stem = path.stem + ".rejected"
    summary = printed_summary(result.stdout)
    assert summary == sheet_summary(out / f"{stem}.xlsx")  # same labels, same values
    assert summary["File"] == path.name and summary["Feed"] == feed
    assert summary["Contract"] == str(SCHEMAS / f"{feed}.toml")
    assert summary["SHA-256"] == hashlib.sha256(before).hexdigest()
    assert summary["Size (bytes)"] == str(len(before))
    # A check's file is a local one: its time is when it was saved, not when it was received.
    assert dt.datetime.fromisoformat(summary["File modified at"]).utcoffset() == dt.timedelta(0)
    assert summary["Outcome"] == CHECK_ROWS
    assert [summary[f"Rows {k}"] for k in ("read", "accepted", "rejected")] == [
        str(rows),
        str(valid),
        str(rejected),
    ]
    lines = printed_lines(result.stdout)
    tail = lines[len(summary) :]
    by_count = sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))
    assert tail == [
        "Rejected cells per error code:",
        *[f"  {code}: {n}" for code, n in by_count],
        f"Report: {out / stem}.xlsx",
        f"Report: {out / stem}.csv",
    ]
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.csv", f"{stem}.xlsx"]
    detail = openpyxl.load_workbook(out / f"{stem}.xlsx")["Rejected cells"]
    assert all(row[7] for row in detail.iter_rows(min_row=2, values_only=True)), "raw lines"
    assert list(home[0].iterdir()) == []  # no state/, archive/, inbox/ or outbox/
    assert path.read_bytes() == before


def test_check_with_the_embedded_default_settings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_check(
        str(SAMPLES / "prices" / "prices_20261120.csv"), "--feed", "prices", "--out", str(out)
    )

    assert result.returncode == 1, result.stderr
    summary = printed_summary(result.stdout)
    assert (summary["Rows read"], summary["Rows accepted"], summary["Rows rejected"]) == (
        "12",
        "9",
        "3",
    )
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

    assert result.returncode == 0, result.stderr
    summary = printed_summary(result.stdout)
    assert summary["Outcome"] == CHECK_CLEAN
    assert (summary["Rows read"], summary["Rows rejected"]) == ("1", "0")
    assert len(printed_lines(result.stdout)) == len(summary)  # no codes, no report paths
    assert not any(out.glob("*.rejected.*"))
    assert list(home[0].iterdir()) == []


def test_check_of_an_unreadable_file_says_why_and_writes_the_report_a_run_would(
    tmp_path: Path, home: tuple[Path, Path]
) -> None:
    empty = tmp_path / "prices_empty.csv"
    empty.write_bytes(b"")
    out = tmp_path / "out"

    result = run_check(str(empty), "--feed", "prices", "--out", str(out), config=home[1])

    assert result.returncode == 1
    summary = printed_summary(result.stdout)
    assert summary["Outcome"] == CHECK_FILE
    assert summary["Rows read"] == NOT_COUNTED
    assert summary["File-level error"] == "prices_empty.csv: the file is empty (0 bytes)"
    assert summary == sheet_summary(out / "prices_empty.rejected.xlsx")
    assert "  parse: 1" in result.stdout.splitlines()
    assert list(home[0].iterdir()) == []

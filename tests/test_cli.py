"""The commands as a newcomer uses them: the embedded default, status, check, bad contracts."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.support.paths import REPO, SAMPLES, SCHEMAS


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """An empty folder: the embedded default (contracts, samples) ships inside the package."""
    return tmp_path


def _own_contracts(home: Path, erp: str | None = None) -> Path:
    """A copy of the shipped contracts in `home/schemas`, named by `home/etl.toml`; its folder."""
    shutil.copytree(SCHEMAS, home / "schemas")
    store = f'[stores.erp]\nkind = "local"\nroot = "{erp}"\nread_only = true\n' if erp else ""
    (home / "etl.toml").write_text(f'schemas_dir = "schemas"\n{store}', encoding="utf-8")
    return home / "schemas"


@pytest.mark.slow
def test_once_on_the_embedded_default_leaves_payloads_and_manifests(fresh: Path) -> None:
    result = _run(fresh, "once")
    assert result.returncode == 0, result.stderr
    assert "products: products_20261120.csv: committed" in result.stdout
    payloads = list((fresh / "outbox" / "norce").rglob("*.json"))
    assert any(p.name.endswith("ImportProducts-add.json") for p in payloads)
    # Adds go one call per set of fields the rows have (an empty cell is not sent).
    adds = (fresh / "outbox" / "norce" / "prices").glob("*/*-ImportSkuPriceLists-add.json")
    body = [item for path in adds for item in json.loads(path.read_text())]
    b2b = [i for i in body if i["PriceListCode"] == "B2B-NET-SEK" and i["PartNo"] == "100123"]
    assert b2b == [
        {
            "PartNo": "100123",
            "PriceListCode": "B2B-NET-SEK",
            "QuantityBreak": 1,
            "CurrencyCode": "SEK",
            "PriceSale": 69,
            "CostPurchase": 31.5,
            "IsActive": True,
        }
    ]
    assert len(list((fresh / "archive").rglob("manifest.json"))) == 12
    # The samples are read-only in the embedded default: never moved.
    assert (SAMPLES / "products" / "products_20261120.csv").exists()

    again = _run(fresh, "once")
    assert again.returncode == 0 and "already committed" in again.stdout

    status = _run(fresh, "status")
    assert status.returncode == 0 and status.stdout.startswith("nothing needs a person\n")
    header = status.stdout.split("\n\n")[1].splitlines()[0].split()
    assert header == [
        "when",
        "feed",
        "run",
        "file",
        "rows",
        "rejected",
        "adds",
        "changes",
        "removals",
        "held",
        "outcome",
    ]
    assert status.stdout.count("committed") == 12


def test_check_validates_without_touching_state(fresh: Path, tmp_path: Path) -> None:
    sample = SAMPLES / "products" / "products_20261120.csv"
    result = _run(
        fresh, "check", str(sample), "--feed", "products", "--out", str(tmp_path / "reports")
    )
    assert result.returncode == 1
    assert "Rows read:        10" in result.stdout and "  checksum: 1" in result.stdout
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "products_20261120.rejected.csv",
        "products_20261120.rejected.xlsx",
    ]
    assert not (fresh / "state").exists() and not (fresh / "archive").exists()


def test_check_reads_a_gz_and_shows_each_rejected_record_as_written(
    fresh: Path, tmp_path: Path
) -> None:
    sample = SAMPLES / "products" / "products_20261120.csv"
    packed = tmp_path / "products_20261120.csv.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    out = tmp_path / "reports"

    result = _run(fresh, "check", str(packed), "--feed", "products", "--out", str(out))

    assert result.returncode == 1, result.stderr
    assert "File:             products_20261120.csv.gz" in result.stdout
    detail = openpyxl.load_workbook(out / "products_20261120.csv.rejected.xlsx")["Rejected cells"]
    raw = {row[0]: row[7] for row in detail.iter_rows(min_row=2, values_only=True)}
    lines = sample.read_bytes().decode("cp1252").splitlines()
    assert raw == {n: lines[n - 1] for n in (9, 10, 11)}
    assert not [p for p in out.iterdir() if not p.name.endswith((".xlsx", ".csv"))]


def test_a_bad_contract_stops_start_up_naming_file_and_key(fresh: Path) -> None:
    path = _own_contracts(fresh) / "prices.toml"
    path.write_text(path.read_text().replace('"Price" = "price_sale"', '"Price" = "price_sael"'))
    result = _run(fresh, "once")
    assert result.returncode == 2
    assert (
        "prices.toml" in result.stderr
        and "columns.Price" in result.stderr
        and "price_sael" in result.stderr
    )


def test_approve_refuses_an_unknown_run(fresh: Path) -> None:
    result = _run(fresh, "approve", "no-such-run")
    assert result.returncode == 1 and "held no removals" in result.stderr


def test_once_exits_3_when_a_whole_file_was_rejected(fresh: Path) -> None:
    _own_contracts(fresh, erp="erp")
    (fresh / "erp" / "stock").mkdir(parents=True)
    (fresh / "erp" / "stock" / "stock_1.xml").write_text(
        "<StockReport><Item sku='1'>", encoding="utf-8"
    )
    result = _run(fresh, "once", "--feed", "stock")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "stock_1.xml: rejected" in result.stdout and "not well-formed XML" in result.stdout
    assert len(list((fresh / "archive" / "stock" / "rejected").rglob("stock_1.rejected.xlsx"))) == 1


def test_a_clean_check_leaves_no_earlier_report_of_the_file_behind(
    fresh: Path, tmp_path: Path
) -> None:
    sample = SAMPLES / "products" / "products_20261120.csv"
    mine = tmp_path / "products_20261120.csv"
    mine.write_bytes(sample.read_bytes())
    reports = tmp_path / "reports"
    first = _run(fresh, "check", str(mine), "--feed", "products", "--out", str(reports))
    assert first.returncode == 1 and any(reports.iterdir())
    # The user fixes the export (here: keeps the header and the first two, good, rows).
    mine.write_bytes(b"\r\n".join(sample.read_bytes().split(b"\r\n")[:3]) + b"\r\n")

    clean = _run(fresh, "check", str(mine), "--feed", "products", "--out", str(reports))

    assert clean.returncode == 0, clean.stdout
    assert sorted(p.name for p in reports.iterdir()) == [], "a stale report says the file is bad"

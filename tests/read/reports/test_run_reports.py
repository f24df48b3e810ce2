"""Reports a real run leaves in the archive: committed with bad rows, or refused whole.

Files go through a local ERP store, the real flow and the embedded file delivery; the
reports are then reopened with openpyxl and read as finance reads them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
import pytest

from etl.config.settings import LocalStoreSettings, Settings
from etl.read.reports import FILE_REJECTED, NOT_COUNTED, ROWS_REJECTED
from tests.support.masterdata import run_once, settings_for, write_cp1252_products

GOOD = "100123;ACME;Acme AB;AG-1;AG;Handske;Läder;GLOVES;7350000000016;25;0,12"
BLUE = "100124;ACME;Acme AB;AG-2;AG;Mössa Blå;Ull;HATS;7350000000017;25;0,1"
FORMULA = "=1+2;ACME;Acme AB;AG-3;AG;Halsduk;Ull;HATS;;25;0,1"


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    return tmp_path / "erp"


@pytest.fixture
def settings(home: Path, erp: Path) -> Settings:
    for folder in ("products", "stock", "prices"):
        (erp / folder).mkdir(parents=True)
    return settings_for(home, LocalStoreSettings(root=erp))


def summary_of(report: Path) -> dict[str, object]:
    sheet = openpyxl.load_workbook(report)["Summary"]
    rows = sheet.iter_rows(values_only=True)
    return {str(r[0]): r[1] for r in rows if r[0] is not None and r[0] != "Error code"}


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def test_a_committed_run_reports_its_file_and_each_bad_record_as_written(
    home: Path, erp: Path, settings: Settings
) -> None:
    source = erp / "products" / "products_1.csv"
    write_cp1252_products(source, [GOOD, BLUE, FORMULA])
    data = source.read_bytes()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    [outcome] = run_once(settings, "products")

    after = dt.datetime.now(dt.UTC)
    assert outcome.outcome == "committed"
    report = only(list((home / "archive" / "products").glob("*/*/products_1.rejected.xlsx")))
    summary = summary_of(report)
    received = dt.datetime.fromisoformat(str(summary.pop("Received at")))
    assert received.utcoffset() == dt.timedelta(0)
    assert before <= received <= after
    assert summary == {
        "File": "products_1.csv",
        "Feed": "products",
        "Contract": str(home / "schemas" / "products.toml"),
        "Size (bytes)": len(data),
        "SHA-256": hashlib.sha256(data).hexdigest(),
        "Outcome": ROWS_REJECTED,
        "Rows read": 3,
        "Rows accepted": 1,
        "Rows rejected": 2,
        "File-level error": "none",
        "checksum": 1,
        "pattern": 1,
    }
    detail = openpyxl.load_workbook(report)["Rejected cells"]
    raw = {row[0].value: row[7] for row in detail.iter_rows(min_row=2)}
    assert raw[3].value == BLUE  # cp1252 decoded: "Blå", not "BlÃ¥" or "Bl?"
    assert raw[4].value == FORMULA and raw[4].quotePrefix and raw[4].data_type == "s"
    with report.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as handle:
        text = handle.read()
    assert f"'{FORMULA}" in text and BLUE in text


def test_a_file_refused_whole_says_why_and_shows_the_line(
    home: Path, erp: Path, settings: Settings
) -> None:
    source = erp / "stock" / "stock_1.xml"
    source.write_text(
        '<StockReport>\n  <Item sku="1">\n    <OnHand>3</Onhand>\n  </Item>\n</StockReport>\n',
        encoding="utf-8",
    )
    data = source.read_bytes()  # the run moves the file to the store's rejected folder

    [outcome] = run_once(settings, "stock")

    assert outcome.outcome == "rejected"
    report = only(list((home / "archive" / "stock" / "rejected").rglob("stock_1.rejected.xlsx")))
    summary = summary_of(report)
    assert summary["Outcome"] == FILE_REJECTED
    assert summary["SHA-256"] == hashlib.sha256(data).hexdigest()
    assert summary["Size (bytes)"] == len(data)
    assert (summary["Rows read"], summary["Rows accepted"]) == (NOT_COUNTED, 0)
    assert "not well-formed" in str(summary["File-level error"])
    detail = openpyxl.load_workbook(report)["Rejected cells"]
    [row] = list(detail.iter_rows(min_row=2, values_only=True))
    assert (row[0], row[4], row[7]) == (3, "parse", "<OnHand>3</Onhand>")


def test_a_suspect_file_counts_its_rows_and_lists_every_bad_record(
    home: Path, erp: Path, settings: Settings
) -> None:
    contract = home / "schemas" / "prices.toml"
    contract.write_text(contract.read_text() + "\n[checks]\nmax_rejected_ratio = 0.25\n")
    rows = ["ItemNo,PriceList,Currency,Price,PurchaseCost,RRP"]
    rows += [f"10012{i},STD-SEK,SEK,79.20,31.50,99.00" for i in range(6)]
    rows += [f"20012{i},STD-SEK,sek,79.20,31.50,99.00" for i in range(3)]
    (erp / "prices" / "prices_1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (erp / "prices" / "prices_1.csv.done").touch()

    [outcome] = run_once(settings, "prices")

    assert outcome.outcome == "rejected"
    report = only(list((home / "archive" / "prices" / "rejected").rglob("*.rejected.xlsx")))
    summary = summary_of(report)
    assert (summary["Rows read"], summary["Rows accepted"], summary["Rows rejected"]) == (9, 0, 9)
    detail = openpyxl.load_workbook(report)["Rejected cells"]
    got = [(r[0], r[4], r[7]) for r in detail.iter_rows(min_row=2, values_only=True)]
    assert got[0][:2] == (None, "too_many_rejects")
    assert got[1:] == [(8 + i, "pattern", rows[7 + i]) for i in range(3)]
    assert [c.value for c in detail[1]][1] == "Key (part_no / price_list_code / quantity_break)"

"""Helpers for document tests: a home with chosen contracts, CSV invoice files, runs, reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, NorceSettings, Settings, SftpStoreSettings
from etl.runtime import Runtime
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_norce.documents.book import DocumentBook
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import run_feed
from tests.support.paths import SAMPLES, SCHEMAS

APPLICATION_ID = 1042  # the application Query is asked for, on the stand-in
DOCUMENT_FEEDS = ("order_status", "delivery_notes", "invoices", "credits")

# An invoice export as many ERPs write it: one row per line, the head repeated.
INVOICE_CSV = """\
[feed]
name = "invoices_csv"
entity = "invoice"

[source]
store = "erp"
folder = "invoices_csv"
pattern = "*.csv"
ready = "stable"
stable_seconds = 0

[format]
type = "csv"
delimiter = ";"

[columns]
"Invoice" = "invoice_no"
"Order" = "client_order_ref"
"ErpOrder" = "erp_order_no"
"Date" = "invoice_date"
"Currency" = "currency"
"Last" = "is_last_invoice"
"Total" = "total_amount"
"Line" = "line_no"
"Part" = "part_no"
"Qty" = "quantity"
"Price" = "unit_price"
"Vat" = "unit_vat"

[options]
fee_part_nos = ["FREIGHT", "FEE"]
{options}
"""
INVOICE_HEADER = "Invoice;Order;ErpOrder;Date;Currency;Last;Total;Line;Part;Qty;Price;Vat"


def make_home(tmp_path: Path, *shipped: str, extra: dict[str, str] | None = None) -> Path:
    """A working folder with the named shipped contracts (fast readiness) and extra ones."""
    home = tmp_path / "home"
    schemas = home / "schemas"
    schemas.mkdir(parents=True)
    for name in shipped:
        text = (SCHEMAS / f"{name}.toml").read_text(encoding="utf-8")
        text = text.replace("stable_seconds = 2", "stable_seconds = 0")
        (schemas / f"{name}.toml").write_text(text, encoding="utf-8")
    for name, text in (extra or {}).items():
        (schemas / f"{name}.toml").write_text(text, encoding="utf-8")
    return home


def invoice_contract(options: str = "") -> str:
    """The CSV invoice contract, with more [options] lines."""
    return INVOICE_CSV.replace("{options}", options)


def write_invoices(erp_root: Path, name: str, rows: list[str]) -> Path:
    """An invoice CSV (INVOICE_HEADER and `rows`) in the ERP's invoices_csv folder."""
    folder = erp_root / "invoices_csv"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([INVOICE_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def settings_for(
    home: Path,
    store: LocalStoreSettings | SftpStoreSettings,
    norce: NorceSettings | None = None,
) -> Settings:
    """Settings rooted at `home` with one store called `erp`."""
    return Settings(
        home=home,
        schemas_dir=home / "schemas",
        stores={"erp": store},
        norce=norce or NorceSettings(),
    )


def run(settings: Settings, feed: str) -> list[FileOutcome]:
    """One pass over one feed, the way `run.py once --feed` does it."""
    contract = load_contracts(settings)[feed]
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        return run_feed(rt, contract)
    finally:
        rt.close()


def book(home: Path) -> DocumentBook:
    """The document book of a home (close it after use)."""
    return DocumentBook(home / "state" / "ledger.sqlite")


def manifest(outcome: FileOutcome, home: Path) -> dict[str, Any]:
    """The published manifest of a committed run."""
    [path] = (home / "archive" / outcome.feed).glob(f"*/{outcome.run_id}/manifest.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def report_rows(outcome: FileOutcome, home: Path) -> list[dict[str, Any]]:
    """The detail sheet of a run's XLSX report, reopened with openpyxl, as dicts by title."""
    [path] = (home / "archive" / outcome.feed).glob(f"*/{outcome.run_id}/*.rejected.xlsx")
    sheet = load_workbook(path, read_only=True)["Rejected cells"]
    rows = list(sheet.iter_rows(values_only=True))
    titles = [str(t) for t in rows[0]]
    # read_only sheets drop trailing empty cells (no raw line for rows about people)
    return [dict(zip(titles, (*row, *[None] * (len(titles) - len(row))), strict=True))
            for row in rows[1:]]  # fmt: skip


def copy_samples(erp_root: Path, *folders: str) -> None:
    """Copy sample ERP folders into a drop folder."""
    for folder in folders:
        shutil.copytree(SAMPLES / folder, erp_root / folder)


PAYMENT = {"PaymentCode": 98765, "PaymentMethodCode": "KLARNA", "PaymentRef": "psp-abc"}


def receive_order(home: Path, ref: int, *payments: dict[str, Any]) -> None:
    """An order as the receiver keeps it: its body in the spool, its row in the order book."""
    body = json.dumps(
        {"ClientOrderRef": str(ref), "CurrencyCode": "SEK", "Payments": list(payments)}
    ).encode()
    state = home / "state"
    spooled = Spool(state / "spool" / "orders").put(str(ref), body, "json")
    orders = OrderBook(state / "ledger.sqlite")
    try:
        orders.receive(str(ref), spooled.sha256, spooled.path.name, "json", "push",
                       "2026-11-20T08:00:00Z")  # fmt: skip
    finally:
        orders.close()


STATUS_HEADER = "Ordernr;Webbordernr;Status;Statustid;Kommentar"


def write_statuses(erp_root: Path, name: str, rows: list[str]) -> Path:
    """An order status CSV for the shipped `order_status` contract (cp1252, semicolons)."""
    folder = erp_root / "order_status"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\r\n".join([STATUS_HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path

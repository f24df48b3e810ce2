"""Two people in every place the product keeps data: Eva is to be forgotten, Anna stays.

The customer files run through the real customers feed (archive, delta, manifest,
snapshot, Norce payloads in file mode); orders, documents, party events, an exported
order file and a check report are put where the receiver, the books and the export
put them, through the same classes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import polars as pl

from etl.config.settings import LocalStoreSettings, Settings
from etl.entities.document import Document
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_norce.documents.book import DocumentBook
from tests.support.masterdata import run_once, settings_for
from tests.support.paths import SAMPLES, SCHEMAS

HEADER = (
    "Kundnr;Förnamn;Efternamn;E-post;Telefon;Mobil;Personnr;Företagsnr;Företag;Orgnr;Momsnr;"
    "Prislista;Adress;Adress2;Postnr;Ort;Land"
)
ANNA_ROW = (
    "K-1001;Anna;Andersson;anna.andersson@example.se;08-123 45 67;070-111 22 33;19811218-9876;"
    ";;;;;Storgatan 1;;111 22;Stockholm;SE"
)
EVA_ROW = (
    "K-1005;Eva;Ek;eva.ek@example.se;040-765 43 21;073-999 88 77;19850101-1234;"
    ";;;;;Ekvägen 7;Lgh 1102;211 45;Malmö;SE"
)
GUSTAV_ROW = (
    "K-1010;Gustav;Gran;gustav.gran@bygg.example;031-555 66 77;;;F-500;Byggmästarna AB;"
    "556036-0793;SE556036079301;;Granvägen 3;;411 01;Göteborg;SE"
)  # a contact of company F-500
GUSTAV = ("Gustav", "Gran", "gustav.gran@bygg.example", "031-555 66 77", "Granvägen 3",
          "411 01", "Göteborg")  # fmt: skip
EVA = ("Eva", "Ek", "eva.ek@example.se", "040-765 43 21", "073-999 88 77", "19850101-1234",
       "Ekvägen 7", "Lgh 1102", "211 45", "Malmö")  # fmt: skip
ANNA = ("Anna", "Andersson", "anna.andersson@example.se", "08-123 45 67", "070-111 22 33",
        "19811218-9876", "Storgatan 1", "111 22", "Stockholm")  # fmt: skip
AT = "2026-12-06T10:00:00+00:00"


def settings(home: Path, erp_root: Path) -> Settings:
    """The shipped contracts, the ERP as a local folder, Norce payloads written to outbox/."""
    return settings_for(home, LocalStoreSettings(root=erp_root))


def config_file(home: Path, erp_root: Path) -> Path:
    """The same settings as a file, for `run.py --config`."""
    path = home / "etl.toml"
    path.write_text(
        f'home = "{home}"\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\n', encoding="utf-8"
    )
    return path


def home_without_customers(root: Path) -> tuple[Path, Path]:
    """A home with the embedded contracts, and an ERP folder of every sample but the customer
    exports, the prices run (so the companies' price lists are known): (home, erp root)."""
    home, erp = root / "home", root / "erp"
    shutil.copytree(SCHEMAS, home / "schemas")
    shutil.copytree(SAMPLES, erp)
    for sample in (erp / "customers").iterdir():
        sample.unlink()
    run_once(settings(home, erp), "prices")
    return home, erp


def drop_customers(erp_root: Path, name: str, rows: list[str]) -> None:
    """A customers export as the ERP writes it: cp1252, semicolons, CRLF, a done marker."""
    folder = erp_root / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    (folder / f"{name}.done").touch()


def order(ref: str, code: str, email: str, first: str, last: str, street: str, city: str) -> bytes:
    """An OrderRequest body with the buyer in SellTo, BillTo and ShipTo."""
    person = {"FirstName": first, "LastName": last}
    address = {"Line1": street, "City": city, "Country": "SE"}
    body = {
        "ClientOrderRef": ref,
        "SellTo": {"Person": {"CustomerCode": code, "Email": email, **person}},
        "BillTo": {"Person": {**person, "Address": address}},
        "ShipTo": {"Person": {**person, "Address": address}},
        "Items": [{"LineNo": 1, "PartNo": "100123", "Quantity": 1}],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def seed_orders_and_more(home: Path) -> None:
    """Orders (JSON and XML), documents, party events, an exported file, a check report."""
    state = home / "state"
    spool, book = Spool(state / "spool" / "orders"), OrderBook(state / "ledger.sqlite")
    bodies = {
        "2001": (order("2001", "K-1005", "EVA.EK@example.se", "Eva", "Ek", "Ekvägen 7", "Malmö"), "json"),
        "2002": (order("2002", "K-1001", "anna.andersson@example.se", "Anna", "Andersson",
                       "Storgatan 1", "Stockholm"), "json"),
        "2003": (b"<Order><ClientOrderRef>2003</ClientOrderRef><SellTo><Email>eva.ek@example.se"
                 b"</Email><FirstName>Eva</FirstName></SellTo><ShipTo><Line1>Lgh 1102</Line1>"
                 b"</ShipTo></Order>", "xml"),
    }  # fmt: skip
    try:
        for ref, (body, kind) in bodies.items():
            spooled = spool.put(ref, body, kind)
            book.receive(ref, spooled.sha256, spooled.path.name, kind, "push", AT)
        rows = [book.order("2001"), book.order("2002"), book.order("2003")]
        exported = "orders_20261206T1000.csv"
        lines = "2001;Eva;Ek;Ekvägen 7;Malmö\r\n2002;Anna;Andersson;Storgatan 1;Stockholm\r\n"
        for folder in (
            home / "outbox/erp/erp_csv",
            home / "archive/orders/exported/erp_csv/2026-12-06",
        ):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / exported).write_bytes(lines.encode("cp1252"))
        sha = hashlib.sha256(lines.encode("cp1252")).hexdigest()
        book.begin_export("x1", "erp_csv", exported, [r for r in rows if r], sha, 100, AT)
        book.finish_export("x1", AT)
    finally:
        book.close()
    _seed_documents(state)
    _seed_party_events(state / "spool" / "parties")
    _seed_check_report(home / "outbox" / "checks" / "customers")


def _seed_documents(state: Path) -> None:
    documents = DocumentBook(state / "ledger.sqlite")
    try:
        for number, ref, name, street in (("DN-1", 2001, "Eva Ek", "Ekvägen 7"),
                                          ("DN-2", 2002, "Anna Andersson", "Storgatan 1")):  # fmt: skip
            head = {"client_order_ref": ref, "delivery_name": name, "delivery_address": street}
            document = Document("delivery_note", number, head)
            documents.begin("delivery_notes", document, (), "run-1", AT)
            documents.finish("delivery_note", number, "sent", None, AT)
    finally:
        documents.close()


def _seed_party_events(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, (email, first) in enumerate(
        (("eva.ek@example.se", "Eva"), ("anna.andersson@example.se", "Anna"))
    ):
        body = {"EntityId": 70 + n, "EmailAddress": email, "FirstName": first}
        (folder / f"customer-{n}.json").write_text(json.dumps(body), encoding="utf-8")


def _seed_check_report(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Customer", "Column", "Value", "Name"])
    sheet.append(["K-1005", "Telefon", "040-765 43 21", "Eva Ek"])
    sheet.append(["K-1001", "Telefon", "08-123 45 67", "Anna Andersson"])
    book.save(folder / "kunder.rejected.xlsx")


def decoded(home: Path) -> Iterator[tuple[Path, str]]:
    """Every data file under home as text: Parquet, XLSX and SQLite contents decoded too.

    SQLite files are also read as raw bytes: a value left in a freed page still counts.
    """
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.is_relative_to(home / "schemas") or path.name == "salt":
            continue
        if path.suffix == ".parquet":
            yield path, pl.read_parquet(path).write_csv()
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            yield (
                path,
                "\n".join(
                    str(v)
                    for s in book.worksheets
                    for r in s.iter_rows(values_only=True)
                    for v in r
                ),
            )
        elif path.suffix == ".sqlite":
            db = sqlite3.connect(path)
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = [str(r) for t in tables for r in db.execute(f'SELECT * FROM "{t}"')]
            db.close()
            yield path, "\n".join(rows)
        raw = path.read_bytes()
        if path.suffix not in (".parquet", ".xlsx"):
            yield (
                path,
                raw.decode("utf-8", errors="replace") + raw.decode("cp1252", errors="replace"),
            )


def holders(home: Path, values: tuple[str, ...]) -> dict[str, list[str]]:
    """Per value, the files that hold it as a whole word (e-mail addresses in any case)."""
    texts = list(decoded(home))
    found: dict[str, list[str]] = {}
    for value in values:
        flags = re.IGNORECASE if "@" in value else 0
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", flags)
        found[value] = sorted(
            {str(p.relative_to(home)) for p, text in texts if pattern.search(text)}
        )
    return found

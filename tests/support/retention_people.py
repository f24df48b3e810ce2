"""A known person seeded into every place personal data rests, and a search for them."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

import polars as pl

from tests.support.paths import REPO, SAMPLES, SCHEMAS

# Greta: ASCII-only values, so one spelling finds her in every encoding (cp1252, UTF-8, JSON).
CODE = "K-9001"
FIRST, LAST = "Gretamaja", "Gustafssonberg"
EMAIL = "gretamaja@hemma.example"
PHONE, CELL, CELL_E164 = "08-555 12 34", "070-555 66 77", "+46705556677"
SSN = "19121212-1212"
STREET = "Gretagatan 77"
# "gretamaja@hemma" also finds the misspelt address the check command reports.
VALUES = (FIRST, LAST, "gretamaja@hemma", PHONE, CELL, CELL_E164, SSN, STREET)

CUSTOMER_ROW = (
    f"{CODE};{FIRST};{LAST};{EMAIL};{PHONE};{CELL};{SSN};;;;;STD-SEK;{STREET};;111 22;Stockholm;SE"
)
# Another customer, who comes and goes after the purge.
NEWCOMER = "K-9002;Nils;Nykvist;nils@nykvist.example;;;;;;;;STD-SEK;Byvägen 2;;111 22;Stockholm;SE"


def add_customer(erp: Path, name: str, row: str | None) -> Path:
    """The sample customers export as `name` (plus `row`), with its done marker."""
    folder = erp / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    text = (SAMPLES / "customers/kunder_20261120.csv").read_bytes().decode("cp1252")
    lines = text.rstrip("\r\n").split("\r\n") + ([row] if row else [])
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    (folder / f"{name}.done").touch()
    return path


def her_delivery_notes() -> bytes:
    """The sample delivery notes, the first one shipped to Greta."""
    text = (SAMPLES / "delivery_notes/despatch_20261124.csv").read_text(encoding="utf-8")
    text = text.replace("Anna Andersson", f"{FIRST} {LAST}").replace("Storgatan 1", STREET)
    return text.encode("utf-8")


def make_delivery_note_hers(erp: Path) -> None:
    """The sample delivery notes in the ERP's folder, shipped to Greta."""
    (erp / "delivery_notes" / "despatch_20261124.csv").write_bytes(her_delivery_notes())


def her_order() -> bytes:
    """Sample order 1001, bought by Greta."""
    text = (REPO / "tests/fixtures/orders/order_1001.json").read_text(encoding="utf-8")
    for old, new in (
        ("anna@example.com", EMAIL),
        ('"Anna"', f'"{FIRST}"'),
        ("Åström", LAST),
        ("+46701234567", CELL_E164),
    ):
        text = text.replace(old, new)
    return text.encode("utf-8")


def her_party_event() -> bytes:
    """A customer event whose body names her (Norce's payload is not documented)."""
    return json.dumps({"CustomerId": 9001, "EmailAddress": EMAIL, "LastName": LAST}).encode()


def with_retention(home: Path, feed: str, days: int) -> None:
    """Give a shipped contract copied into `home` an `[archive] retention_days`."""
    path = home / "schemas" / f"{feed}.toml"
    text = path.read_text(encoding="utf-8")
    assert "retention_days" not in text
    path.write_text(text + f"\n[archive]\nretention_days = {days}\n", encoding="utf-8")


def copy_order_schemas(home: Path) -> None:
    for area in ("orders", "parties"):
        shutil.copytree(SCHEMAS / area, home / "schemas" / area)


# -- the search -------------------------------------------------------------------------------


def where_she_rests(home: Path) -> dict[str, list[str]]:
    """Each of her values -> every file under `home` holding it, contents decoded.

    Raw bytes of every file (SQLite and its WAL included: deleted or overwritten data
    lingers there), plus every SQLite cell, every Parquet value and every member of a
    zip container (XLSX), decoded.
    """
    found: dict[str, list[str]] = {v: [] for v in VALUES}
    for path in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink()):
        texts = [_raw(path.read_bytes())]
        if path.suffix == ".sqlite":
            texts.append(_sqlite_cells(path))
        elif path.suffix == ".parquet":
            texts.append(pl.read_parquet(path).write_csv())
        elif path.suffix == ".xlsx":
            texts.append(_zip_members(path.read_bytes()))
        name = path.relative_to(home).as_posix()
        for value in VALUES:
            if any(value in text for text in texts):
                found[value].append(name)
    return {v: names for v, names in found.items() if names}


def _raw(data: bytes) -> str:
    return data.decode("latin-1")  # every byte a character: ASCII values match as they are


def _sqlite_cells(path: Path) -> str:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
        )


def _zip_members(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())

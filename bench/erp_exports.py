"""The ERP exports the benchmark feeds the pipeline, in the dialects the shipped contracts read.

Each feed has a previous and a new version of the export: 1% of rows changed, 0.5% added,
0.5% removed, 0.1% invalid. Files are cached per row count under `bench/data/`; a feed is
written again when its writer's source changed (a stamp beside the files says which).
"""

from __future__ import annotations

import hashlib
import inspect
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

Writer = Callable[[Path, list[int], set[int], set[int]], None]


def _ean(n: int) -> str:
    body = f"735{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def versions(rows: int, seed: int = 7) -> tuple[list[int], list[int], set[int], set[int]]:
    """Ids of the previous and the new export, which ids changed, which are invalid."""
    rng = random.Random(seed)
    prev = list(range(rows))
    removed = set(rng.sample(prev, rows // 200))
    added = list(range(rows, rows + rows // 200))
    new = [i for i in prev if i not in removed] + added
    changed = set(rng.sample(new, rows // 100))
    invalid = set(rng.sample(new, rows // 1000))
    return prev, new, changed, invalid


def write_products(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    names = [f"Arbetshandske läder modell {i}" + (" (ny)" if i in changed else "") for i in ids]
    frame = pl.DataFrame(
        {
            "Artikelnr": [f"{i:07d}" for i in ids],
            "Varumärke": ["ACME" if i % 3 else "BRIGHT" for i in ids],
            "Tillverkare": ["Acme Arbetskläder AB" if i % 3 else "Bright Lights Oy" for i in ids],
            "Tillv. artnr": [f"AG-{i}" for i in ids],
            "Produktgrupp": [f"PG-{i // 4}" for i in ids],
            "Benämning": names,
            # An en dash and a euro sign: characters that differ between cp1252 and latin-1.
            "Beskrivning": [
                f"Slitstark handske i läder, storlek {i % 12} \u2013 pris i \u20ac" for i in ids
            ],
            "Kategori": [f"CAT-{i % 50}" for i in ids],
            "EAN": [
                _ean(i)
                if i not in invalid
                else _ean(i)[:-1] + "0"
                if _ean(i)[-1] != "0"
                else _ean(i)[:-1] + "1"
                for i in ids
            ],
            "Moms %": ["25" if i % 7 else "12" for i in ids],
            "Vikt kg": [f"{(i % 900) / 100 + 0.05:.2f}".replace(".", ",") for i in ids],
        }
    )
    text = frame.write_csv(separator=";", line_terminator="\r\n")
    path.write_bytes(text.encode("cp1252"))


def write_prices(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    frame = pl.DataFrame(
        {
            "ItemNo": [f"{i:07d}" for i in ids],
            "PriceList": ["STD-SEK"] * len(ids),
            "Currency": ["SEK" if i not in invalid else "sek" for i in ids],
            "Price": [f"{(i % 5000) + 9.9 + (1 if i in changed else 0):.2f}" for i in ids],
            "PurchaseCost": [f"{(i % 5000) / 2 + 1:.2f}" for i in ids],
            "RRP": [f"{(i % 5000) + 19.9:.2f}" for i in ids],
        }
    )
    path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv(line_terminator="\r\n").encode())


def write_stock(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<StockReport>\n')
        for i in ids:
            qty = "many" if i in invalid else str(i % 300 + (5 if i in changed else 0))
            out.write(
                f'  <Item sku="{i:07d}">\n    <Warehouse code="MAIN"/>\n    <Location>L{i % 40}</Location>\n'
                f"    <OnHand>{qty}</OnHand>\n  </Item>\n"
            )
        out.write("</StockReport>\n")


XLSX_SHEET = "Prislista"
XLSX_HEADER_ROW = 4  # as schemas/prices_xlsx.toml says: title, print line, empty row, header
XLSX_HEADER = [
    "Artikelnr",
    "Benämning",  # not mapped by the contract: read, then dropped
    "Prislista",
    "Valuta",
    "Från antal",
    "Kampanjpris",
    "Inpris",
    "Ord. pris",
    "Rek. pris",
    "Från datum",  # not mapped either; a date cell, so the reader's date path runs
]


def write_prices_xlsx(path: Path, ids: list[int], changed: set[int], invalid: set[int]) -> None:
    """The campaign price list as the ERP's Excel export: numbers and dates as typed cells."""
    from openpyxl import Workbook  # imported here: only this feed needs it

    book = Workbook(write_only=True)  # streams rows to disk: 100k rows in about 12 s
    info = book.create_sheet("Info")
    info.append(["Kampanjpriser ur affärssystemet; priserna står på fliken Prislista"])
    sheet = book.create_sheet(XLSX_SHEET)
    sheet.append(["Kampanjpriser KAMPANJ-SEK"])
    sheet.append(["Utskriven 2026-11-20 05:30"])
    sheet.append([])
    sheet.append(XLSX_HEADER)
    start = date(2026, 11, 20)
    for i in ids:
        base = i % 5000
        sale: float | str = base + 9.5 + (1 if i in changed else 0)
        if i in invalid:
            sale = "saknas"  # a text cell in a number column, as a person would type it
        sheet.append(
            [
                f"{i:07d}",
                f"Arbetshandske läder modell {i}",
                "KAMPANJ-SEK",
                "SEK",
                1,
                sale,
                base / 2 + 1,
                base + 19.9,
                base + 24.9,
                start,
            ]
        )
    book.save(path)


@dataclass(frozen=True)
class Feed:
    """One benchmarked feed: its shipped contract, its files, and how to describe them."""

    contract: str  # the name of the contract in schemas/
    pattern: str  # the export's path under the data folder; {v} is 1 (previous) or 2 (new)
    write: Writer
    dialect: str  # printed beside the feed's figures
    kind: str  # csv, xml or xlsx: which bare read is the baseline
    done_marker: bool = False
    separator: str = ","

    def path(self, data: Path, version: str) -> Path:
        """The previous ("1") or the new ("2") export."""
        return data / self.pattern.format(v=version)


FEEDS = {
    "products": Feed(
        "products",
        "products/products_{v}.csv",
        write_products,
        "CSV, Windows-1252, ';' separated, decimal comma",
        "csv",
        separator=";",
    ),
    "prices": Feed(
        "prices",
        "prices/prices_{v}.csv",
        write_prices,
        "CSV, UTF-8 with BOM, ',' separated, decimal point",
        "csv",
        done_marker=True,
    ),
    "stock": Feed(
        "stock",
        "stock/stock_{v}.xml",
        write_stock,
        "XML, UTF-8, one <Item> element per record",
        "xml",
    ),
    "xlsx": Feed(
        "prices_xlsx",
        "prices_xlsx/kampanjpriser_{v}.xlsx",
        write_prices_xlsx,
        f"XLSX, sheet {XLSX_SHEET!r} after an 'Info' sheet, header on row {XLSX_HEADER_ROW}, "
        f"{len(XLSX_HEADER)} columns, numbers as numeric cells shown with a decimal comma",
        "xlsx",
    ),
}


def generate(data: Path, rows: int, feed: Feed) -> None:
    """Write the previous and the new export of one feed, unless they are there already."""
    stamp_text = hashlib.sha256(inspect.getsource(feed.write).encode()).hexdigest()[:16]
    old, new = feed.path(data, "1"), feed.path(data, "2")
    stamp = old.parent / f".{feed.write.__name__}.stamp"
    if old.exists() and new.exists() and stamp.exists() and stamp.read_text() == stamp_text:
        return
    old.parent.mkdir(parents=True, exist_ok=True)
    prev, current, changed, invalid = versions(rows)
    feed.write(old, prev, set(), set())
    feed.write(new, current, changed, invalid)
    stamp.write_text(stamp_text)

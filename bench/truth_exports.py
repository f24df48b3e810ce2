"""One flat ERP export read by three feeds (products, prices, stock), with its known truth.

A full export of N SKUs and its next version: 1% changed (a name, a price or a stock level,
in turn), 0.5% added, 0.5% removed, 0.1% invalid (a bad EAN check digit, a negative price,
a row whose SKU is empty, in turn). `truth` says, per feed and by SKU, what a correct run
must send: adds, changes, removals, and the SKUs whose rows it must reject. The rows with an
empty SKU may stand for any removed row, so a correct run holds every feed's removals.

Written in two dialects: UTF-8 with `,` and decimal points, and Windows-1252 with `;` and
decimal commas. The test suite runs this at a small size (tests/to_norce/masterdata/test_truth.py), the
benchmark at full size (bench/truth.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

COLUMNS = (
    "sku", "brand", "name", "ean", "vat", "weight",
    "pricelist", "currency", "price", "warehouse", "location", "onhand",
)  # fmt: skip
FEEDS = ("products", "prices", "stock")
PRICE_LIST, WAREHOUSE, LOCATION = "B2C-SEK", "MAIN", "A1"


@dataclass(frozen=True)
class Dialect:
    """How the ERP writes the file."""

    name: str
    encoding: str
    delimiter: str
    decimal: str


DIALECTS = {
    "utf8": Dialect("utf8", "utf-8", ",", "."),
    "cp1252": Dialect("cp1252", "cp1252", ";", ","),
}


@dataclass(frozen=True)
class Truth:
    """What one feed must do with the second export, by SKU."""

    adds: frozenset[str]
    changes: frozenset[str]
    removed: frozenset[str]
    rejected: frozenset[str]


@dataclass(frozen=True)
class Exports:
    """The two versions of the export and what each feed must make of the second."""

    first: list[dict[str, str]]
    second: list[dict[str, str]]
    truth: dict[str, Truth]
    unkeyed: int  # rows with an empty SKU in the second version


def ean(n: int, valid: bool = True) -> str:
    """A 13-digit EAN with a right (or a wrong) check digit."""
    body = f"735{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    check = (10 - total % 10) % 10
    return body + str(check if valid else (check + 1) % 10)


def sku(n: int) -> str:
    return f"S{n:07d}"


def row(n: int) -> dict[str, str]:
    """SKU n as the ERP exports it; numbers with a decimal point (the writer localises them)."""
    return {
        "sku": sku(n),
        "brand": f"BR{n % 40:02d}",
        "name": f"Artikel {n} åäö",
        "ean": ean(n),
        "vat": "25",
        "weight": f"{n % 7}.125",
        "pricelist": PRICE_LIST,
        "currency": "SEK",
        "price": f"{100 + n % 900}.50",
        "warehouse": WAREHOUSE,
        "location": LOCATION,
        "onhand": str(n % 40),
    }


def generate(rows: int, seed: int = 7) -> Exports:
    """Both versions of an export of `rows` SKUs and the truth about the second."""
    rng = random.Random(seed)
    first = [row(n) for n in range(rows)]
    ids = list(range(rows))
    removed = set(rng.sample(ids, max(2, rows // 200)))
    kept = [n for n in ids if n not in removed]
    picked = rng.sample(kept, max(3, rows // 100) + max(3, rows // 1000))
    changed, invalid = picked[: max(3, rows // 100)], picked[max(3, rows // 100) :]
    second = {n: row(n) for n in kept}
    changes: dict[str, set[str]] = {f: set() for f in FEEDS}
    rejected: dict[str, set[str]] = {f: set() for f in FEEDS}
    for turn, n in enumerate(changed):
        feed = FEEDS[turn % 3]
        field = {"products": "name", "prices": "price", "stock": "onhand"}[feed]
        second[n][field] = {"name": f"Artikel {n} ny", "price": "77.25", "onhand": "999"}[field]
        changes[feed].add(sku(n))
    junk = []
    for turn, n in enumerate(invalid):
        kind = turn % 3
        if kind == 0:
            second[n]["ean"] = ean(n, valid=False)
            rejected["products"].add(sku(n))
        elif kind == 1:
            second[n]["price"] = "-" + second[n]["price"]
            rejected["prices"].add(sku(n))
        else:  # a new article whose number the ERP never filled in
            junk.append(row(rows * 2 + n) | {"sku": ""})
    added = range(rows, rows + max(2, rows // 200))
    out = [*second.values(), *(row(n) for n in added), *junk]
    new = frozenset(sku(n) for n in added)
    gone = frozenset(sku(n) for n in removed)
    truth = {f: Truth(new, frozenset(changes[f]), gone, frozenset(rejected[f])) for f in FEEDS}
    return Exports(first, out, truth, len(junk))


def write(path: Path, rows: list[dict[str, str]], dialect: Dialect) -> None:
    """The export in `dialect`: header, one line per row, CRLF like a Windows ERP."""
    lines = [dialect.delimiter.join(COLUMNS)]
    for r in rows:
        cells = [r[c] for c in COLUMNS]
        if dialect.decimal != ".":
            cells = [c.replace(".", dialect.decimal) for c in cells]
        lines.append(dialect.delimiter.join(cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(dialect.encoding))


def contracts(dialect: Dialect, folder: str = "flat") -> dict[str, str]:
    """The three feed contracts, by feed name: products picks up the file, the others read it."""
    fmt = (
        f'[format]\ntype = "csv"\nencoding = "{dialect.encoding}"\n'
        f'delimiter = "{dialect.delimiter}"\ndecimal = "{dialect.decimal}"\n'
    )
    source = (
        f'[source]\nstore = "erp"\nfolder = "{folder}"\npattern = "flat_*.csv"\n'
        'ready = "temp_name"\n'
    )
    derived = '[source]\nstore = "erp"\nfrom_feed = "products"\n'
    return {
        "products": (
            '[feed]\nname = "products"\nentity = "product"\nexport = "full"\n'
            f"{source}{fmt}"
            '[columns]\nsku = "part_no"\nbrand = "manufacturer_code"\nname = "name"\n'
            'ean = "ean"\nvat = "vat_rate"\nweight = "weight"\n'
        ),
        "prices": (
            '[feed]\nname = "prices"\nentity = "price"\nexport = "full"\n'
            f"{derived}{fmt}"
            '[columns]\nsku = "part_no"\npricelist = "price_list_code"\n'
            'currency = "currency"\nprice = "price_sale"\n'
            '[defaults]\nquantity_break = "1"\n'
        ),
        "stock": (
            '[feed]\nname = "stock"\nentity = "onhand"\nexport = "full"\n'
            f"{derived}{fmt}"
            '[columns]\nsku = "part_no"\nwarehouse = "warehouse_code"\n'
            'location = "location_code"\nonhand = "onhand_value"\n'
        ),
    }

"""Product and stock feeds with date columns, checked in-process: contracts, files, messages."""

from __future__ import annotations

from pathlib import Path

from etl.config.contracts import FeedContract
from etl.models import Validated
from tests.fixtures.feeds import check, contract_from

PRODUCT_HEADER = "Art;Brand;Name;Start;Stop"
PRODUCT_COLUMNS = """
[columns]
"Art" = "part_no"
"Brand" = "manufacturer_code"
"Name" = "name"
"Start" = "start_date"
"Stop" = "stop_date"
"""


STOCK_HEADER = "Art;Store;Shelf;Qty;Due"
STOCK_COLUMNS = """
[columns]
"Art" = "part_no"
"Store" = "warehouse_code"
"Shelf" = "location_code"
"Qty" = "onhand_value"
"Due" = "next_delivery_date"
"""


def product_contract(folder: Path, fmt: str) -> FeedContract:
    """A products contract with start and stop dates, its format options `fmt`."""
    text = f'[feed]\nentity = "product"\n[format]\ntype = "csv"\ndelimiter = ";"\n{fmt}\n'
    return contract_from(text + PRODUCT_COLUMNS, folder, "products")


def stock_contract(folder: Path, fmt: str) -> FeedContract:
    """A stock contract with a next delivery date, its format options `fmt`."""
    text = f'[feed]\nentity = "onhand"\n[format]\ntype = "csv"\ndelimiter = ";"\n{fmt}\n'
    return contract_from(text + STOCK_COLUMNS, folder, "stock")


def run(tmp_path: Path, contract: FeedContract, header: str, rows: list[str]) -> Validated:
    """Check a file of `header` and `rows` against `contract`."""
    path = tmp_path / "file.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return check(path, contract, tmp_path / "scratch")


def products(tmp_path: Path, fmt: str, starts: list[str]) -> Validated:
    """Check one product per start date in `starts`."""
    rows = [f"P{n};ACME;Glove;{start};" for n, start in enumerate(starts, 1)]
    return run(tmp_path, product_contract(tmp_path, fmt), PRODUCT_HEADER, rows)


def messages(validated: Validated) -> list[str]:
    """The rejection messages, in order."""
    return validated.rejections["message"].to_list()


STOCKHOLM = 'time_zone = "Europe/Stockholm"'

"""Duplicate keys found through key hashes, and the valid/rejected split made with a mask,
give what grouping every row on its key gave.

Validation groups on the key only the rows whose key hash repeats, and splits valid from
rejected rows with a mask instead of two joins (both for the peak at 1M XML records). The
rejected lines, their codes and the valid rows must be what a plain grouping on the key of
every row says, on a generated stock XML read by the shipped contract: copies, keys that
differ in one part, parts swapped between columns, keys missing a part, and bad numbers.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.models import LINE
from etl.read.formats import read_file
from etl.read.mapping import map_columns
from etl.to_norce.feed import parse_and_validate
from tests.support.paths import SCHEMAS

KEY = ["part_no", "warehouse_code", "location_code"]


def _item(sku: str, warehouse: str, location: str | None, qty: str) -> str:
    place = "" if location is None else f"<Location>{location}</Location>"
    return (
        f'<Item sku="{sku}"><Warehouse code="{warehouse}"/>{place}<OnHand>{qty}</OnHand></Item>\n'
    )


def _export(path: Path, seed: int) -> None:
    """One item a line (line n + 2 for the n-th), with every shape of key the check meets."""
    rng = random.Random(seed)
    items = [_item(f"S{n:05d}", "MAIN", f"L{n % 7}", str(n % 50)) for n in range(3000)]
    for _ in range(40):  # a copy of an item, or the same key with another quantity
        sku = f"S{rng.randrange(3000):05d}"
        n = int(sku[1:])
        qty = str(n % 50) if rng.random() < 0.5 else "999"
        items.insert(rng.randrange(len(items)), _item(sku, "MAIN", f"L{n % 7}", qty))
    # Parts swapped between warehouse and location: other keys, no duplicates.
    items += [_item("SWAP", "A", "B", "1"), _item("SWAP", "B", "A", "2")]
    # Twice the same key with its location missing: no whole key, never a duplicate.
    items += [_item("HALF", "MAIN", None, "1"), _item("HALF", "MAIN", None, "1")]
    items += [_item(f"BAD{n}", "MAIN", "L1", "many") for n in range(5)]
    rng.shuffle(items)
    path.write_text("<StockReport>\n" + "".join(items) + "</StockReport>\n", encoding="utf-8")


def _repeated_lines(path: Path) -> set[int]:
    """The lines whose whole key (as read, no part missing) occurs more than once."""
    contract = load_contract(SCHEMAS / "stock.toml", Settings())
    text = map_columns(read_file(path, contract, path.parent), contract)
    whole = text.drop_nulls(KEY)
    return set(whole.filter(pl.len().over(KEY) > 1)[LINE].to_list())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_and_the_split_are_what_grouping_every_row_gives(
    tmp_path: Path, seed: int
) -> None:
    path = tmp_path / "stock_1.xml"
    _export(path, seed)
    contract = load_contract(SCHEMAS / "stock.toml", Settings())

    validated = parse_and_validate(path, contract, tmp_path)

    rejections = validated.rejections
    duplicate = rejections.filter(pl.col("code") == "duplicate_key")
    assert set(duplicate["line"].to_list()) == _repeated_lines(path) != set()
    assert set(rejections.filter(pl.col("code") == "type")["key"].str.slice(0, 3)) == {"BAD"}
    # The valid rows: every row no check failed, in file order, none of them twice.
    lines = set(range(2, 2 + validated.rows_read))
    assert validated.valid[LINE].to_list() == sorted(lines - set(rejections["line"].to_list()))
    assert {"SWAP"} == set(validated.valid.filter(pl.col("part_no") == "SWAP")["part_no"])
    assert validated.valid.filter(pl.col("part_no") == "SWAP").height == 2
    assert not duplicate.filter(pl.col("key").str.starts_with("HALF")).height


def test_a_file_with_no_failure_keeps_every_row_valid(tmp_path: Path) -> None:
    path = tmp_path / "stock_1.xml"
    path.write_text(
        "<StockReport>\n"
        + "".join(_item(f"S{n}", "MAIN", "L1", str(n)) for n in range(10))
        + "</StockReport>\n",
        encoding="utf-8",
    )
    contract = load_contract(SCHEMAS / "stock.toml", Settings())

    validated = parse_and_validate(path, contract, tmp_path)

    assert validated.rejections.height == 0
    assert validated.valid[LINE].to_list() == list(range(2, 12))
    assert validated.valid["onhand_value"].cast(pl.Int64).to_list() == list(range(10))

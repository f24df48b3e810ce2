"""Removals need evidence: a rejected row spares only what its file-read key parts name.

A key part that came from `[defaults]` is not evidence, and a rejected row with no readable
key at all may stand for any missing row: the run holds its removals instead of guessing.
Every decision about a removal (sent, held, spared) is in the run's delta.parquet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.runtime import Runtime
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import run_once, settings_for, write_cp1252_products
from tests.support.norce.app import NorceStandin

PRICES_WITH_DEFAULTS = """
[feed]
name = "prices"
entity = "price"
export = "full"

[source]
store = "erp"
folder = "prices"
pattern = "prices_*.csv"
ready = "temp_name"

[format]
type = "csv"
delimiter = ","

[columns]
"ItemNo" = "part_no"
"Currency" = "currency"
"Price" = "price_sale"

[defaults]
price_list_code = "B2C-SEK"
quantity_break = "1"

[guard]
max_removals = 100
max_removal_ratio = 1.0
{extra}
"""


def product_row(sku: str, name: str = "Artikel") -> str:
    """One products line in the shipped dialect (EAN empty, so no check digit to get wrong)."""
    return f"{sku};ACME;Acme AB;M-{sku};;{name} {sku};;GLOVES;;25;1,0"


def trail(home: Path, feed: str, run_id: str) -> pl.DataFrame:
    """The run's delta.parquet: one row per key and decision."""
    [path] = list((home / "archive" / feed).glob(f"*/{run_id}/delta.parquet"))
    return pl.read_parquet(path)


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    root = tmp_path / "erp-drop"
    (root / "products").mkdir(parents=True)
    (root / "prices").mkdir(parents=True)
    return root


def prices_home(home: Path, extra: str = "") -> None:
    """Only the prices feed, with its list and quantity break from [defaults]."""
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    text = PRICES_WITH_DEFAULTS.format(extra=extra)
    (home / "schemas" / "prices.toml").write_text(text, encoding="utf-8")


def write_prices(folder: Path, name: str, rows: list[str]) -> None:
    (folder / name).write_text("ItemNo,Currency,Price\n" + "".join(r + "\n" for r in rows))


def test_a_default_is_not_evidence_an_unreadable_key_holds_the_removals(
    home: Path, erp: Path
) -> None:
    prices_home(home)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    write_prices(erp / "prices", "prices_1.csv", ["A,SEK,10", "B,SEK,20", "C,SEK,30"])
    run_once(settings, "prices")
    # C is gone; a row with an empty SKU is rejected. Its price list and quantity break came
    # from [defaults], so it names nothing: it may be C, or not.
    write_prices(erp / "prices", "prices_2.csv", ["A,SEK,10", "B,SEK,21", ",SEK,30"])
    [second] = run_once(settings, "prices")

    assert second.outcome == "committed"
    assert second.counts["removals"] == 0 and second.counts["held"] == 1
    assert "no readable key" in second.message and "line 4" in second.message
    rows = trail(home, "prices", second.run_id or "")
    held = rows.filter(pl.col("action") == "held")
    assert held["key"].to_list() == ["C / B2C-SEK / 1"]


def test_the_contract_may_let_unreadable_keys_go(home: Path, erp: Path) -> None:
    prices_home(home, extra="hold_on_unreadable_key = false")
    settings = settings_for(home, LocalStoreSettings(root=erp))
    write_prices(erp / "prices", "prices_1.csv", ["A,SEK,10", "B,SEK,20", "C,SEK,30"])
    run_once(settings, "prices")
    write_prices(erp / "prices", "prices_2.csv", ["A,SEK,10", "B,SEK,20", ",SEK,30"])
    [second] = run_once(settings, "prices")

    assert second.counts["removals"] == 1 and second.counts["held"] == 0


def test_a_partly_read_key_spares_its_rows_and_says_which_line(home: Path, erp: Path) -> None:
    prices_home(home)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    write_prices(erp / "prices", "prices_1.csv", ["A,SEK,10", "B,SEK,20", "C,SEK,30"])
    run_once(settings, "prices")
    # B's price is negative: B is rejected and spared; C is gone and removed.
    write_prices(erp / "prices", "prices_2.csv", ["A,SEK,10", "B,SEK,-20"])
    [second] = run_once(settings, "prices")

    assert second.counts["removals"] == 1 and second.counts["spared"] == 1
    rows = trail(home, "prices", second.run_id or "").sort("key")
    decisions = rows.select("key", "action", "line").to_dicts()
    assert {"key": "B / B2C-SEK / 1", "action": "spared", "line": 3} in decisions
    assert {"key": "C / B2C-SEK / 1", "action": "remove", "line": None} in decisions
    spared = rows.filter(pl.col("action") == "spared")["reason"].to_list()
    assert spared == ["rejected row on line 3 may stand for it"]


def test_products_never_deactivate_the_sku_an_unkeyed_row_stood_for(
    home: Path, erp: Path, norce: NorceStandin
) -> None:
    settings = settings_for(home, LocalStoreSettings(root=erp), norce.settings())
    products = erp / "products"
    rows = [product_row(f"3000{i}") for i in range(5)]
    write_cp1252_products(products / "products_1.csv", rows)
    run_once(settings, "products")
    # 30004's row lost its article number: it is rejected, and 30004 is "missing".
    unkeyed = ";" + rows[4].split(";", 1)[1]
    write_cp1252_products(products / "products_2.csv", [*rows[:4], unkeyed])
    [second] = run_once(settings, "products")

    assert second.counts["removals"] == 0 and second.counts["held"] == 1
    assert norce.state.skus["30004"].get("Status") != 5
    # Once the operator has looked: approve releases exactly the held SKU, once.
    contracts = load_contracts(settings)
    rt = Runtime.open(settings)
    try:
        approve(rt, contracts, second.run_id or "")
    finally:
        rt.close()
    assert norce.state.skus["30004"]["Status"] == 5
    deactivations = [c for c in norce.calls if any(_status(i) == 5 for i in c.items)]
    assert len(deactivations) == 1


def _status(item: dict[str, object]) -> object:
    variants = item.get("Variants")
    assert isinstance(variants, list)
    return variants[0]["Skus"][0].get("Status")


def test_an_empty_sku_with_its_list_read_holds_even_a_single_removal(home: Path, erp: Path) -> None:
    """The list code was read, but it is on every row: it names no price."""
    text = PRICES_WITH_DEFAULTS.format(extra="").replace(
        '"Currency" = "currency"', '"Currency" = "currency"\n"List" = "price_list_code"'
    )
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "prices.toml").write_text(text, encoding="utf-8")
    settings = settings_for(home, LocalStoreSettings(root=erp))
    head = "ItemNo,Currency,List,Price\n"
    (erp / "prices" / "prices_1.csv").write_text(head + "A,SEK,B2C,10\nB,SEK,B2C,20\n")
    run_once(settings, "prices")
    (erp / "prices" / "prices_2.csv").write_text(head + "A,SEK,B2C,10\n,SEK,B2C,20\n")
    [second] = run_once(settings, "prices")

    assert second.counts["held"] == 1 and second.counts["spared"] == 0
    assert "no readable key (line 3)" in second.message

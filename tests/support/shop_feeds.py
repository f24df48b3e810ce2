"""A web shop's products and prices on one file, each row with a Published (active) flag."""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import LocalStoreSettings, Settings
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin

PRODUCTS = """
[feed]
name = "shop_products"
entity = "product"
[source]
folder = "shop"
pattern = "shop_*.csv"
ready = "temp_name"
[format]
type = "csv"
[columns]
"SKU" = "part_no"
"Name" = "name"
"Weight" = "weight"
"Published" = "is_active"
[defaults]
manufacturer_code = "SHOP"
[guard]
max_removals = 100
max_removal_ratio = 1.0
"""


PRICES = """
[feed]
name = "shop_prices"
entity = "price"
[source]
from_feed = "shop_products"
[format]
type = "csv"
[columns]
"SKU" = "part_no"
"Price" = "price_sale"
"Published" = "is_active"
[defaults]
price_list_code = "WEB"
currency = "SEK"
quantity_break = "1"
[guard]
max_removals = 100
max_removal_ratio = 1.0
"""


HEADER = "SKU,Name,Weight,Price,Published"


def shop(home: Path, tmp_path: Path, norce: NorceStandin) -> tuple[Settings, Path]:
    """Put the shop's two contracts in `home`; its settings and the shop's drop folder."""
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "shop_products.toml").write_text(PRODUCTS, encoding="utf-8")
    (home / "schemas" / "shop_prices.toml").write_text(PRICES, encoding="utf-8")
    erp = tmp_path / "erp"
    (erp / "shop").mkdir(parents=True)
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings()), erp / "shop"


def drop(folder: Path, name: str, *rows: str) -> None:
    """Write a shop file `name` with the header and `rows`."""
    (folder / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def outcomes(settings: Settings) -> dict[str, dict[str, int]]:
    """Run the products feed (and the prices after it); counts by feed."""
    return {o.feed: o.counts for o in run_once(settings, "shop_products")}

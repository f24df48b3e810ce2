"""The sentence `run.py check` prints for a feed reading another's file reads as English."""

from __future__ import annotations

from pathlib import Path

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.to_norce.check_feeds import readers

ARTICLES = """
[feed]
name = "articles"
entity = "product"
[source]
pattern = "articles_*.csv"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"brand" = "manufacturer_code"
"title" = "name"
"""

STOCK = """
[feed]
name = "article_stock"
entity = "onhand"
[source]
from_feed = "articles"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"warehouse" = "warehouse_code"
"location" = "location_code"
"onhand" = "onhand_value"
"""


def test_an_entity_starting_with_a_vowel_takes_an(tmp_path: Path) -> None:
    (tmp_path / "articles.toml").write_text(ARTICLES, encoding="utf-8")
    (tmp_path / "article_stock.toml").write_text(STOCK, encoding="utf-8")
    contracts = load_contracts(Settings(home=tmp_path, schemas_dir=tmp_path))

    why = {r.contract.name: r.why for r in readers(contracts["articles"], "articles_1.csv")}

    assert "runs after it: an onhand row names its product (part_no)" in why["article_stock"]

"""Two feeds on one file: articles and their prices, the price feed reading the article file."""

from __future__ import annotations

from pathlib import Path

PRODUCTS = """
[feed]
name = "articles"
entity = "product"
export = "full"

[source]
store = "erp"
folder = "articles"
pattern = "articles_*.csv"
ready = "temp_name"

[format]
type = "csv"
delimiter = ","

[columns]
"sku" = "part_no"
"brand" = "manufacturer_code"
"title" = "name"
"""


PRICES = """
[feed]
name = "article_prices"
entity = "price"
export = "full"

[source]
store = "erp"
from_feed = "articles"

[format]
type = "csv"
delimiter = ","

[columns]
"sku" = "part_no"
"list" = "price_list_code"
"currency" = "currency"
"price" = "price_sale"

[defaults]
quantity_break = "1"

[references]
part_no = "articles.part_no"
"""


HEADER = "sku,brand,title,list,currency,price"


def write(erp: Path, name: str, rows: list[str]) -> Path:
    """Write an articles file `name` with the header and `rows` into the ERP's drop folder."""
    path = erp / "articles" / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path

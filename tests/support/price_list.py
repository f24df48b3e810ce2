"""A price-list feed contract over a local `erp` store, for the trace tests."""

PRICES = """
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
max_removals = 0
max_removal_ratio = 0.0
"""

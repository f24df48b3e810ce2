"""A customers feed and the companies feed that reads its file (`from_feed`), for tests."""

CUSTOMERS = """
[feed]
name = "customers"
entity = "customer"
export = "full"
[source]
store = "erp"
folder = "customers"
pattern = "kunder_*.csv"
ready = "temp_name"
[format]
type = "csv"
[columns]
"ID" = "code"
"First" = "first_name"
"Last" = "last_name"
"Mail" = "email"
"""

COMPANIES = """
[feed]
name = "companies"
entity = "company"
export = "full"
[source]
store = "erp"
from_feed = "customers"
[format]
type = "csv"
[columns]
"Org" = "organization_no"
"Company" = "name"
[derive]
code = { column = "Company", pattern = '\\((C-\\d+)\\)$' }
[checks]
same_key_rows = "merge_identical"
"""

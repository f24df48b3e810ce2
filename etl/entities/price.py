"""SKU price per price list -> Norce `Product/ImportSkuPriceLists`.

Norce ignores a price of 0 (reference section 4), so a sale price must be above 0; a price
that should go away is removed from the file, or marked `is_active` false, and deactivated
(`IsActive:false`).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from etl.entities.base import Entity, EntityOptions
from etl.entities.checks import CURRENCY_PATTERN, MONEY, amount, code
from etl.entities.payloads import ACTIVE_FLAG, ACTIVE_LABEL, FlatImport

SCHEMA = pa.DataFrameSchema(
    {
        "part_no": pa.Column(pl.String, code(), nullable=False),
        "price_list_code": pa.Column(pl.String, code(), nullable=False),
        "quantity_break": pa.Column(pl.Int32, [pa.Check.ge(1)], nullable=False),
        "currency": pa.Column(pl.String, [pa.Check.str_matches(CURRENCY_PATTERN)], nullable=False),
        "price_sale": pa.Column(MONEY, amount(strictly_positive=True), nullable=False),
        "cost_purchase": pa.Column(MONEY, amount(), nullable=True),
        "cost_unit": pa.Column(MONEY, amount(), nullable=True),
        "price_recommended": pa.Column(MONEY, amount(), nullable=True),
        "price_previous": pa.Column(MONEY, amount(), nullable=True),
        "price_catalog": pa.Column(MONEY, amount(), nullable=True),
        **ACTIVE_FLAG,
    },
    strict=False,
    name="price",
)

IMPORT = FlatImport(
    method="Product/ImportSkuPriceLists",
    fields_header="SkuPriceListFieldsThatAreSet",
    identity={
        "PartNo": "part_no",
        "PriceListCode": "price_list_code",
        "QuantityBreak": "quantity_break",
        "CurrencyCode": "currency",
    },
    values={
        "price_sale": ("PriceSale", 3),
        "cost_purchase": ("CostPurchase", 4),
        "cost_unit": ("CostUnit", 5),
        "price_recommended": ("PriceRecommended", 6),
        "price_previous": ("PricePrevious", 7),
        "price_catalog": ("PriceCatalog", 8),
    },
    is_active=10,
)


class PriceOptions(EntityOptions):
    """Prices take no options yet."""


PRICE = Entity(
    name="price",
    schema=SCHEMA,
    key=("part_no", "price_list_code", "quantity_break"),
    options_model=PriceOptions,
    build_calls=IMPORT.build,
    labels={
        "part_no": "Article number (Norce PartNo)",
        "price_list_code": "Price list code (Norce PriceListCode)",
        "quantity_break": "Minimum quantity for this price, 1 if none",
        "currency": "ISO 4217 currency code, e.g. SEK",
        "price_sale": "Sale price excluding VAT",
        "cost_purchase": "Purchase cost",
        "cost_unit": "Unit cost",
        "price_recommended": "Recommended retail price",
        "price_previous": "Previous price (shown as 'was')",
        "price_catalog": "Catalogue price",
        **ACTIVE_LABEL,
    },
)

"""Product/SKU -> Norce `Product/ImportProducts`.

An ERP row is one SKU. Norce nests it as Product (ManufacturerCode, cluster Code) ->
Variant (ManufacturerPartNo) -> Sku (PartNo), one SKU per variant. New SKUs get the
contract's `new_status` through StatusCreateOnly, so the first run against a live
catalogue never switches an enriched, active product off; removals set `removed_status`.
Products have no IsActive: a SKU the ERP marks inactive (`is_active` false) is a removal
(Status = `removed_status`) when Norce has it from us; a new one is created in
`removed_status` (StatusCreateOnly), never in `new_status`.
StartDate and StopDate are sent in UTC, written as Norce writes a DateTime.

Each request lists, per level, exactly what its items set (see etl.entities.payloads): a
field the contract does not carry is never listed nor sent, an add or a reactivation lists a
field only for the SKUs that have a value (launch dates, weights or EANs people set in Norce
stay when the file has none), a change lists what changed. Variants (4) and Skus (5) are
always listed: every item reaches its product through them (PartNo). Cultures (5) and the SKU
and culture arrays are listed only when something in them is set; an empty array is never
sent. The identities (ManufacturerCode, the variant's ManufacturerPartNo, PartNo, CultureCode)
are always sent, as Norce matches and creates by them.

Name, description and category may be declared `create_only` in the contract (people enrich
them in Norce Admin): an add lists them under NameCreateOnly (1), DescriptionCreateOnly (6)
and CategoriesCreateOnly (15), so Norce sets them only on a product it creates; changes and
reactivations never send them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import pandera.polars as pa
import polars as pl
from pydantic import Field

from etl.entities.base import CallContext, Entity, EntityOptions
from etl.entities.calls import NorceCall
from etl.entities.checks import GTIN, MAX_AMOUNT, MONEY, code
from etl.entities.json_rows import (
    Arr,
    Node,
    Obj,
    Raw,
    Text,
    When,
    literal,
    obj,
)
from etl.entities.payloads import (
    ACTIVE_FLAG,
    ACTIVE_LABEL,
    CallSequence,
    Item,
    column_json,
    setting_groups,
)
from etl.models import IS_ACTIVE, Delta

SKU_STATUS = {
    "Active": 1,
    "Coming": 2,
    "Expiring": 3,
    "Hidden": 4,
    "Inactive": 5,
    "NotActivated": 6,
}
SKU_TYPE = {"ErpStandard": 1, "ErpRefurbished": 2, "Service": 11, "Standard": 14, "Virtual": 40}
StatusName = Literal["Active", "Coming", "Expiring", "Hidden", "Inactive", "NotActivated"]

SCHEMA = pa.DataFrameSchema(
    {
        "part_no": pa.Column(pl.String, code(), nullable=False),
        "manufacturer_code": pa.Column(pl.String, code(), nullable=False),
        "manufacturer_name": pa.Column(pl.String, [pa.Check.str_length(1, 100)], nullable=True),
        "manufacturer_part_no": pa.Column(pl.String, code(), nullable=True),
        "product_code": pa.Column(pl.String, code(), nullable=True),
        "name": pa.Column(pl.String, [pa.Check.str_length(1, 255)], nullable=False),
        "description": pa.Column(pl.String, [pa.Check.str_length(0, 20_000)], nullable=True),
        "category_code": pa.Column(pl.String, code(), nullable=True),
        "ean": pa.Column(pl.String, [GTIN], nullable=True),
        "vat_rate": pa.Column(MONEY, [pa.Check.in_range(0, 100)], nullable=True),
        "weight": pa.Column(MONEY, [pa.Check.in_range(0, MAX_AMOUNT)], nullable=True),
        "start_date": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
        "stop_date": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
        **ACTIVE_FLAG,
    },
    strict=False,
    name="product",
)

# field -> (level, Norce name, number in that level's FieldsThatAreSet)
_PRODUCT = {"manufacturer_code": 0, "manufacturer_name": 1, "product_code": 3, "category_code": 6}
_CULTURE = {"name": 0, "description": 5}
_VARIANT = {"manufacturer_part_no": 0}
_SKU = {"ean": 5, "weight": 14, "vat_rate": 21, "start_date": 23, "stop_date": 24}
_VARIANTS, _CULTURES, _SKUS = 4, 5, 5  # the "nested list is set" numbers
_STATUS, _TYPE, _STATUS_CREATE_ONLY = 1, 2, 22
# field -> its CreateOnly number, in the same level's array as its own number: set only when
# Norce creates the record (NameCreateOnly, DescriptionCreateOnly, CategoriesCreateOnly).
_CREATE_ONLY = {"name": 1, "description": 6, "category_code": 15}


class ProductOptions(EntityOptions):
    """Options for product feeds (contract [options] table)."""

    culture: str = Field(default="sv-SE", pattern=r"^[a-z]{2}-[A-Z]{2}$")
    sales_area: int = Field(default=1, ge=1)  # Norce VatRate.SalesArea: 1 Sweden, 2 Norway...
    new_status: StatusName = "NotActivated"
    # A SKU that comes back after a removal: by default it waits for a person, like a new
    # one (it may never have been enabled); set "Active" to put it straight back on sale.
    reactivated_status: StatusName | None = None
    removed_status: StatusName = "Inactive"
    sku_type: Literal["ErpStandard", "ErpRefurbished", "Service", "Standard", "Virtual"] = (
        "ErpStandard"
    )


def build_calls(delta: Delta, context: CallContext) -> list[NorceCall]:
    """ImportProducts calls for one delta: adds, changes per field group, reactivations, removals."""
    options = context.options
    assert isinstance(options, ProductOptions)
    seq = CallSequence("Product/ImportProducts", context, [])
    fields = [f for f in SCHEMA.columns if f != "part_no" and f in context.carried]
    new = {"Status": SKU_STATUS[options.new_status], "Type": SKU_TYPE[options.sku_type]}
    back = {"Status": SKU_STATUS[options.reactivated_status or options.new_status]}
    gone = {"Status": SKU_STATUS[options.removed_status]}
    dormant = {**new, **gone}  # an add the ERP marks inactive: created in the removed status
    # What each kind sets on the SKU besides the row's fields: numbers and values.
    own: dict[str, tuple[tuple[int, ...], Item]] = {
        "add": ((_STATUS_CREATE_ONLY, _TYPE), new),
        "reactivate": ((_STATUS,), back),
        "remove": ((_STATUS,), gone),
    }
    groups = setting_groups(delta, fields, seeds=context.create_only)
    for kind, setting, rows in [*groups, ("remove", (), delta.removals)]:
        sku_fields, sku_values = own.get(kind, ((), {}))
        for part_fields, part in _split_on_code(setting, rows):
            header = _header(context, part_fields, sku_fields)
            quiet = dormant if kind == "add" else sku_values
            item = _item(part.schema, part_fields, options, sku_values, quiet)
            seq.add_rows(kind, header, part, item)
    return seq.calls


def _split_on_code(
    fields: Sequence[str], rows: pl.DataFrame
) -> Iterator[tuple[Sequence[str], pl.DataFrame]]:
    """Once Code (3) is listed Norce requires it in every item: rows without one go apart.

    A change that only empties the code has nothing Norce could apply, so it is not sent.
    """
    if "product_code" not in fields:
        yield fields, rows
        return
    missing = pl.col("product_code").is_null()
    yield fields, rows.filter(~missing)
    rest = tuple(f for f in fields if f != "product_code")
    if rest:
        yield rest, rows.filter(missing)


def _header(
    context: CallContext, fields: Sequence[str], sku_extra: Sequence[int]
) -> dict[str, Any]:
    sku = {_SKU[f] for f in fields if f in _SKU} | set(sku_extra)
    # Every item carries Variants -> Skus -> PartNo: that is how Norce finds the product to
    # update (reference §3, "Update: PartNo"), so those two nested lists are always listed,
    # even when nothing below them is set (then SkuFieldsThatAreSet is left out, never []).
    variant = {_VARIANT[f] for f in fields if f in _VARIANT} | {_SKUS}
    seeds = context.create_only
    culture = {_number(_CULTURE, f, seeds) for f in fields if f in _CULTURE}
    product = {_number(_PRODUCT, f, seeds) for f in fields if f in _PRODUCT} | {_VARIANTS}
    product |= {_CULTURES} if culture else set()
    header: dict[str, Any] = {
        "AccountId": context.account_id,
        "FullFile": False,
        "ProductFieldsThatAreSet": sorted(product),
    }
    for name, numbers in (("VariantFieldsThatAreSet", variant), ("SkuFieldsThatAreSet", sku)):
        if numbers:
            header[name] = sorted(numbers)
    header["SerializationType"] = 0
    if culture:
        header["ProductCultureFieldsThatAreSet"] = sorted(culture)
    return header


def _number(level: dict[str, int], field: str, seeds: frozenset[str]) -> int:
    """The field's number in its level's array: its CreateOnly one when the ERP only seeds it."""
    return _CREATE_ONLY[field] if field in seeds else level[field]


def _item(
    schema: pl.Schema,
    fields: Sequence[str],
    options: ProductOptions,
    sku_extra: Item,
    inactive_extra: Item,
) -> Obj:
    """The nested ImportProducts item of one group's rows, as the tree polars writes as JSON.

    A missing value is null here and left out of the JSON (etl.entities.json_rows), as
    Norce's own serializer omits nulls (NullValueHandling.Ignore).
    """
    mpn = pl.col("manufacturer_part_no")
    own_mpn = mpn.is_not_null() & (mpn != "")  # `or`: an empty one is the PartNo too
    variant = obj(
        ("ManufacturerPartNo", Text(pl.when(own_mpn).then(mpn).otherwise(pl.col("part_no")))),
        ("Skus", Arr(_sku(schema, fields, options, sku_extra, inactive_extra))),
    )
    product: list[tuple[str, Node]] = [
        ("ManufacturerCode", Text(pl.col("manufacturer_code"))),
        ("Variants", Arr(variant)),
    ]
    if "manufacturer_name" in fields:
        product.append(("ManufacturerName", Text(pl.col("manufacturer_name"))))
    if "product_code" in fields:
        product.append(("Code", Text(pl.col("product_code"))))
    if "category_code" in fields:
        category = Arr(obj(("Code", Text(pl.col("category_code")))))
        product.append(("Categories", When(pl.col("category_code").is_not_null(), category)))
    culture = [(name, Text(pl.col(f))) for f, name in _CULTURE_NAMES.items() if f in fields]
    if culture:
        code = ("CultureCode", literal(options.culture))
        product.append(("Cultures", Arr(obj(code, *culture))))
    return obj(*product)


def _sku(
    schema: pl.Schema,
    fields: Sequence[str],
    options: ProductOptions,
    sku_extra: Item,
    inactive_extra: Item,
) -> Obj:
    """The SKU level; a row the ERP marks inactive gets `inactive_extra` (same keys, other values)."""
    inactive = (pl.col(IS_ACTIVE) == False) if IS_ACTIVE in schema else pl.lit(False)  # noqa: E712
    sku: list[tuple[str, Node]] = [("PartNo", Text(pl.col("part_no")))]
    for key, value in sku_extra.items():
        quiet = pl.when(inactive).then(literal(inactive_extra[key]).value)
        sku.append((key, Raw(quiet.otherwise(literal(value).value))))
    for field, name in _SKU_VALUES.items():
        if field in fields:
            sku.append((name, column_json(schema, field)))
    if "vat_rate" in fields:
        rate = obj(
            ("SalesArea", literal(options.sales_area)),
            ("Rate", column_json(schema, "vat_rate")),
        )
        sku.append(("VatRates", When(pl.col("vat_rate").is_not_null(), Arr(rate))))
    return obj(*sku)


# SKU fields -> Norce names, in the item's order; each written as its dtype is (column_json).
_SKU_VALUES = {
    "ean": "EanCode",
    "weight": "ActualWeight",
    "start_date": "StartDate",
    "stop_date": "StopDate",
}
_CULTURE_NAMES = {"name": "Name", "description": "Description"}


PRODUCT = Entity(
    name="product",
    schema=SCHEMA,
    key=("part_no",),
    options_model=ProductOptions,
    build_calls=build_calls,
    seedable=frozenset(_CREATE_ONLY),
    labels={
        "part_no": "Article number, the SKU (Norce PartNo)",
        "manufacturer_code": "Manufacturer or brand code (Norce ManufacturerCode)",
        "manufacturer_name": "Manufacturer name, needed when the manufacturer is new",
        "manufacturer_part_no": "Manufacturer's article number (defaults to the article number)",
        "product_code": "Product cluster code that groups variants (Norce Code)",
        "name": "Product name in the feed's culture",
        "description": "Product description in the feed's culture",
        "category_code": "Category code, must exist in Norce",
        "ean": "EAN/GTIN barcode with a valid check digit",
        "vat_rate": "VAT rate in percent, e.g. 25",
        "weight": "Actual weight",
        "start_date": "Date and time the SKU becomes available (Norce StartDate)",
        "stop_date": "Date and time the SKU stops being available (Norce StopDate)",
        **ACTIVE_LABEL,
    },
)

"""`Product/ImportProducts` as Norce applies it: SKU by SKU, level by level (reference section 3)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tests.support.norce.answers import Json
from tests.support.norce.records import Applied, ItemFailed


class ProductTables(Protocol):
    """Where a product import lands: the products' own fields and the SKUs, by PartNo."""

    products: dict[str, Json]
    skus: dict[str, Json]


# Item field -> its number, per level of Product/ImportProducts (reference section 3).
_PRODUCT_LEVEL = {
    "ManufacturerCode": 0, "ManufacturerName": 1, "Alias": 2, "Code": 3, "Categories": 6,
    "MainImage": 7, "AdditionalImages": 8, "Family": 9, "ProductParametrics": 10,
    "AssortmentCode": 14,
}  # fmt: skip
_CULTURE_LEVEL = {
    "Name": 0, "SubHeader": 2, "SubDescription": 3, "DescriptionHeader": 4, "Description": 5,
    "Synonyms": 7, "Title": 8, "Tags": 9, "MetaTags": 10, "MetaDescription": 11,
    "UniqueUrlName": 13,
}  # fmt: skip
_VARIANT_LEVEL = {
    "ManufacturerPartNo": 0, "SortOrderValue": 1, "StockDisplayBreakPoint": 2,
    "IsDangerousGoods": 3, "MainImage": 6, "AdditionalImages": 7,
}  # fmt: skip
_SKU_LEVEL = {
    "Status": 1, "Type": 2, "IntegrationPartNo": 3, "CommodityCode": 4, "EanCode": 5,
    "TrackingCode": 6, "UnitOfMeasurementType": 7, "UnitOfMeasurementCount": 8,
    "IsDropShipOnly": 9, "IsBuyable": 10, "DiscountClass": 11, "RecommendedSalesQty": 12,
    "IsRecommendedSalesQtyFixed": 13, "ActualWeight": 14, "VolumeWeight": 15,
    "LogisticWidth": 16, "LogisticHeight": 18, "LogisticDepth": 19, "StandardPrice": 20,
    "VatRates": 21, "StartDate": 23, "StopDate": 24,
}  # fmt: skip
_VARIANTS, _CULTURES, _SKUS, _CODE = 4, 5, 5, 3


@dataclass(frozen=True)
class _Level:
    """One level of a product item and the header array that governs it."""

    header: str
    numbers: Mapping[str, int]
    create_only: Mapping[int, str] = field(default_factory=dict)  # number -> field it sets

    def listed(self, header: Json) -> set[int]:
        return set(header.get(self.header) or [])

    def apply(self, record: Json, item: Json, header: Json, created: bool) -> None:
        """Set exactly the listed fields; a listed one left out of the item becomes null."""
        listed = self.listed(header)
        for name, number in self.numbers.items():
            if number in listed:
                record[name] = copy.deepcopy(item.get(name))
        for number, name in self.create_only.items():
            if number in listed and created:
                record[name] = copy.deepcopy(item.get(name))


_PRODUCT = _Level("ProductFieldsThatAreSet", _PRODUCT_LEVEL, {15: "Categories"})
_CULTURE = _Level("ProductCultureFieldsThatAreSet", _CULTURE_LEVEL, {1: "Name", 6: "Description"})
_VARIANT = _Level("VariantFieldsThatAreSet", _VARIANT_LEVEL)
_SKU = _Level("SkuFieldsThatAreSet", _SKU_LEVEL, {22: "Status"})


class ProductImport:
    """One ImportProducts call applied SKU by SKU, level by level, as Norce does.

    An item finds its SKU by PartNo (reference section 3: enough for an update); match keys
    are always read. A nested list (Variants 4, Cultures 5, Skus 5) is applied only when
    listed, and each level sets exactly the fields its header array lists. A SKU Norce does
    not have is created only with what a create needs (ManufacturerCode, ManufacturerPartNo,
    PartNo, Status and Type, S19); its identities are stored whether listed or not.
    """

    def __init__(self, state: ProductTables, header: Json) -> None:
        self.state, self.header = state, header

    def apply(self, items: Sequence[Json]) -> Applied:
        """Apply every SKU of every item; an item Norce would refuse is a failure, not an error."""
        applied = Applied()
        for n, product in enumerate(items):
            for variant in product.get("Variants", []):
                for sku in variant.get("Skus", []):
                    try:
                        created = self._apply(product, variant, sku)
                    except ItemFailed as exc:
                        message = f"Product [{n}] (PartNo {sku['PartNo']}) not imported: {exc}"
                        applied.failures.append((message, product))
                        continue
                    applied.inserts += created
                    applied.updates += not created
        return applied

    def _apply(self, product: Json, variant: Json, sku: Json) -> bool:
        part_no, created = sku["PartNo"], sku["PartNo"] not in self.state.skus
        if _CODE in _PRODUCT.listed(self.header) and not product.get("Code"):
            raise ItemFailed("Code (3) is listed, so every product must carry one")
        if created:
            self._check_create(variant, sku)
        own = self.state.products.setdefault(part_no, {})
        record = self.state.skus.setdefault(part_no, {"PartNo": part_no})
        if created:
            own["ManufacturerCode"] = product["ManufacturerCode"]
            record["ManufacturerPartNo"] = variant["ManufacturerPartNo"]
        _PRODUCT.apply(own, product, self.header, created)
        if _CULTURES in _PRODUCT.listed(self.header):
            cultures = own.setdefault("Cultures", {})
            for culture in product.get("Cultures", []):
                entry = cultures.setdefault(culture["CultureCode"], {})
                _CULTURE.apply(entry, culture, self.header, created)
        if _VARIANTS in _PRODUCT.listed(self.header):
            _VARIANT.apply(record, variant, self.header, created)
            if _SKUS in _VARIANT.listed(self.header):
                _SKU.apply(record, sku, self.header, created)
        record["ManufacturerCode"] = own["ManufacturerCode"]
        return created

    def _check_create(self, variant: Json, sku: Json) -> None:
        sku_listed = _SKU.listed(self.header)
        reaches = _VARIANTS in _PRODUCT.listed(self.header) and _SKUS in _VARIANT.listed(
            self.header
        )
        status = bool(sku_listed & {1, 22}) and "Status" in sku
        kind = 2 in sku_listed and "Type" in sku
        if not (reaches and status and kind and variant.get("ManufacturerPartNo")):
            raise ItemFailed(
                "a new SKU needs ManufacturerPartNo, and Status (1 or 22) and Type (2) "
                "listed and sent, with Variants (4) and Skus (5)"
            )

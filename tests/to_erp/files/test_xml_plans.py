"""A row written into an empty element replays a plan (etl.to_erp.files.render_xml._Plan): it
must make the very elements, texts and attributes, in the same order, that walking every
column's path (`_fill`) makes. Both are run on fresh elements for every record of the shipped
PEPPOL layout and of a layout built to reach each rule (shared prefixes, text and attributes
of one element, an attribute waiting for its element's text, a literal attribute, an attribute of
the base itself), with random patterns of empty cells; the serialized bytes must be equal.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lxml import etree

from etl.config.settings import LocalStoreSettings, Settings
from etl.to_erp.files.layouts import Layout, Record
from etl.to_erp.files.render_xml import _PLANS, _fill, _nsmap, _plan
from tests.fixtures.orders import layout_from, shipped

# Every rule of `_fill` an empty base can meet, in one layout.
RULES = """
[layout]
format = "xml"
per = "order"

[target]
file_name = "ORDER_{ref}.xml"

[format]
root = "Order"
namespace = "urn:example:order"
namespaces = { cbc = "urn:example:basic", cac = "urn:example:aggregate" }

[record.order]
elements = [
    ["@version", "'2'"],
    ["@source", "Source"],
    ["cbc:ID", "ClientOrderRef"],
    ["cbc:ID/@scheme", "'REF'"],
    ["cac:Buyer/cac:Party/cbc:Name", "SellTo.Company.Name"],
    ["cac:Buyer/cac:Party/cbc:Endpoint/@schemeID", "'0088'"],
    ["cac:Buyer/cac:Party/cbc:Endpoint", "SellTo.Company.Code"],
    ["cac:Buyer/cac:Contact/cbc:Mail", "SellTo.Person.Email"],
    ["cac:Buyer/cac:Party/cbc:Name/@short", "SellTo.Person.LastName"],
    ["cac:Buyer/cbc:Note/@lang", "CurrencyCode"],
    ["cbc:Amount/@currencyID", "CurrencyCode"],
    ["cbc:Amount", "CustomerOrderRef"],
    ["cac:Delivery/cbc:Street", "ShipTo.Person.Address.Line1"],
    ["cac:Buyer/cac:Party/cbc:Phone", "SellTo.Person.CellPhone"],
]

[record.line]
each = "Items"
repeat = "cac:Lines/cac:Line"
elements = [
    ["cbc:PartNo", "PartNo"],
    ["cbc:Qty/@unit", "'C62'"],
    ["cbc:Qty", "Quantity"],
    ["cac:Item/cbc:Name", "Description"],
    ["cac:Item/cbc:Name/@lang", "UnitOfMeasure"],
    ["@no", "position()"],
]
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a local store, for layouts loaded from text."""
    return Settings(schemas_dir=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)})


def _bytes_of(layout: Layout, record: Record, cells: tuple[str, ...], *, planned: bool) -> bytes:
    fmt = layout.format
    base = etree.Element("{urn:example:order}Base", nsmap=_nsmap(fmt))
    if planned:
        _plan(record, cells).replay(base, cells)
    else:
        _fill(base, record.columns, cells)
    return etree.tostring(base)


def _patterns(count: int, seed: int) -> list[tuple[bool, ...]]:
    """All filled, none filled, and `count` random patterns of filled cells."""
    rng = random.Random(seed)
    patterns = [(True,) * count, (False,) * count]
    patterns += [tuple(rng.random() < share for _ in range(count)) for share in (0.2, 0.5, 0.8)]
    patterns += [tuple(rng.random() < 0.6 for _ in range(count)) for _ in range(300)]
    return patterns


def _check(layout: Layout) -> int:
    compared = 0
    for record in layout.records:
        count = len(record.columns)
        for pattern in _patterns(count, seed=count):
            cells = tuple(f"v{i}" if filled else "" for i, filled in enumerate(pattern))
            planned = _bytes_of(layout, record, cells, planned=True)
            walked = _bytes_of(layout, record, cells, planned=False)
            assert planned == walked, (record.name, pattern)
            # Asked again: the plan kept for this pattern gives the same bytes.
            assert _bytes_of(layout, record, cells, planned=True) == walked
            compared += 1
    return compared


def test_the_peppol_layouts_plans_write_what_walking_the_paths_writes() -> None:
    assert _check(shipped("peppol_order")) > 1000


def test_every_rule_of_the_walk_is_kept_by_the_plans(tmp_path: Path, settings: Settings) -> None:
    layout = layout_from(RULES, tmp_path, settings)
    assert _check(layout) > 600
    # The rules are reached: a literal attribute waits for its element, and an attribute of
    # an element whose text the record writes waits for that text.
    (order, _) = layout.records
    cells = tuple("" if c.name in ("cbc:ID", "cbc:Amount") else "x" for c in order.columns)
    written = _bytes_of(layout, order, cells, planned=True)
    assert b"scheme=" not in written and b"currencyID=" not in written
    assert b'schemeID="x"' in written and b'version="x"' in written


def test_a_record_of_another_layout_gets_plans_of_its_own(
    tmp_path: Path, settings: Settings
) -> None:
    one = layout_from(RULES, tmp_path, settings, "one")
    other = layout_from(RULES.replace("cbc:PartNo", "cbc:Part"), tmp_path, settings, "other")
    cells = tuple("x" for _ in one.records[1].columns)
    assert b"PartNo" in _bytes_of(one, one.records[1], cells, planned=True)
    assert b"PartNo" not in _bytes_of(other, other.records[1], cells, planned=True)


def test_the_plans_of_a_record_go_with_it(tmp_path: Path, settings: Settings) -> None:
    # Each pass loads the layouts anew: the plans of the records it no longer has must go.
    layout = layout_from(RULES, tmp_path, settings)
    record = layout.records[0]
    _plan(record, tuple("x" for _ in record.columns))
    key = id(record)
    assert key in _PLANS
    del layout, record
    assert key not in _PLANS

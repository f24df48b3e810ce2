"""A plan's elements are made once and copied into each row's base (render_xml._Plan): the
copies must serialize as elements made in the base itself do, whatever namespaces the base
has in scope, whatever the cells hold, and in any thread.

Compared against walking every column's path (`_fill`) on the same base, byte for byte, as
tests/to_erp/files/test_xml_plans.py does for the patterns of empty cells.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from lxml import etree

from etl.config.settings import LocalStoreSettings, Settings
from etl.to_erp.files.layouts import Layout, Record
from etl.to_erp.files.render_xml import _fill, _nsmap, _plan
from tests.fixtures.orders import layout_from, shipped

LAYOUT = """
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
    ["cbc:ID", "ClientOrderRef"],
    ["cac:Buyer/cbc:Name", "SellTo.Person.FirstName"],
    ["cac:Buyer/cbc:Name/@lang", "SellTo.Person.LastName"],
    ["cac:Buyer/cac:Address/cbc:City", "BillTo.Person.Address.City"],
    ["Note", "CustomerOrderComment"],
]
"""

# Text a serializer must escape or carry as it is: markup, quotes, whitespace, non-ASCII.
PIECES = ("a", "&", "<", ">", '"', "'", "\t", "\n", "\r", " ", "Å", "ö", "€", "\u00a0", "𝄞", "]]>")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a local store, for layouts loaded from text."""
    return Settings(schemas_dir=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)})


def _bases(layout: Layout) -> list[etree._Element]:
    """Empty bases with other namespaces in scope: the root itself, a repeating record's
    element below it, one under a second prefix for the same namespace, and one without."""
    nsmap = _nsmap(layout.format)
    root = etree.Element("{urn:example:order}Order", nsmap=nsmap)
    twice = etree.Element("{urn:example:order}Order", nsmap={**nsmap, "b2": "urn:example:basic"})
    extra = etree.Element("{urn:example:other}Batch", nsmap={"x": "urn:example:other", **nsmap})
    return [
        etree.Element("{urn:example:order}Order", nsmap=nsmap),
        etree.SubElement(root, "{urn:example:aggregate}Line"),
        etree.SubElement(twice, "{urn:example:order}Line"),
        etree.SubElement(extra, "{urn:example:order}Order", nsmap=nsmap),
        etree.Element("Plain"),
    ]


def _serialized(base: etree._Element) -> bytes:
    return etree.tostring(base.getroottree().getroot(), encoding="UTF-8", pretty_print=True)


def _both(layout: Layout, record: Record, cells: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    """Per base: what the plan writes, what the walk writes."""
    out = []
    for planned, walked in zip(_bases(layout), _bases(layout), strict=True):
        _plan(record, cells).replay(planned, cells)
        _fill(walked, record.columns, cells)
        out.append((_serialized(planned), _serialized(walked)))
    return out


def _cells(rng: random.Random, count: int) -> tuple[str, ...]:
    return tuple(
        "" if rng.random() < 0.3 else "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))
        for _ in range(count)
    )


def test_copies_in_bases_of_other_namespaces_write_what_the_walk_writes(
    tmp_path: Path, settings: Settings
) -> None:
    rng = random.Random(18)
    for layout in (layout_from(LAYOUT, tmp_path, settings), shipped("peppol_order")):
        for record in layout.records:
            for _ in range(60):
                for planned, walked in _both(layout, record, _cells(rng, len(record.columns))):
                    assert planned == walked


def _render_all(layout: Layout, rows: list[tuple[Record, tuple[str, ...]]]) -> list[bytes]:
    out = []
    for record, cells in rows:
        base = etree.Element("{urn:example:order}Order", nsmap=_nsmap(layout.format))
        _plan(record, cells).replay(base, cells)
        out.append(_serialized(base))
    return out


def test_rows_written_in_other_threads_at_once_are_the_same_bytes() -> None:
    layout = shipped("peppol_order")
    rng = random.Random(7)
    rows = [
        (record, _cells(rng, len(record.columns))) for record in layout.records for _ in range(40)
    ]
    alone = _render_all(layout, rows)
    results: dict[int, list[bytes]] = {}

    def render_in(index: int) -> None:
        results[index] = _render_all(layout, rows)

    threads = [threading.Thread(target=render_in, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(3)] == [alone] * 3

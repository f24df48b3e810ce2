"""Rows replayed into several bases of one document write what the walk writes there, also
where a made element's namespace is not declared above the base (lxml then declares it on the
element, naming it from a counter of the document's own: ns0, ns1, ...)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from etl.config.settings import LocalStoreSettings, Settings
from etl.to_erp.files.render_xml import _fill, _plan
from tests.fixtures.orders import XML, layout_from


def test_rows_in_one_document_without_the_declarations_match_the_walk(tmp_path: Path) -> None:
    settings = Settings(schemas_dir=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)})
    layout = layout_from(XML, tmp_path, settings)
    record = next(r for r in layout.records if r.repeat is not None)
    cells = tuple("x" for _ in record.columns)
    planned, walked = etree.Element("Plain"), etree.Element("Plain")
    for _ in range(2):
        _plan(record, cells).replay(etree.SubElement(planned, "Row"), cells)
        _fill(etree.SubElement(walked, "Row"), record.columns, cells)
    assert etree.tostring(planned) == etree.tostring(walked)

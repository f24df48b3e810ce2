"""A rendered order file read back into `OrderRequest`s: the inverse of etl.to_erp.files.render.

Only what the layout maps from order fields comes back; literals and computed values carry
no order data and are skipped. An empty cell or a missing element reads as absent, so a
field that was an empty string comes back as None. Used by the round-trip property tests
(order -> file -> order gives the same mapped fields), and handy for an operator who wants
to see what an order file says in the order's own words.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from etl.to_erp.files.functions import Value
from etl.to_erp.files.layout_spec import OrderFormat
from etl.to_erp.files.layouts import Column, FirstOf, Layout, Record
from etl.to_erp.files.sources import FieldPath
from etl.to_erp.orders.model import OrderRequest

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

Doc = dict[str, Any]


def read_back(layout: Layout, data: bytes) -> list[OrderRequest]:
    """The orders in a file of this layout (ValueError when it is not one)."""
    reader = _read_xml if layout.spec.format == "xml" else _read_csv
    return [OrderRequest.model_validate(doc) for doc in reader(layout, data)]


def _read_csv(layout: Layout, data: bytes) -> list[Doc]:
    fmt = layout.format
    text = data.decode(fmt.encoding)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, quotechar=fmt.quote)
    by_tag = {r.tag: r for r in layout.records}
    first = layout.records[0]
    orders: list[Doc] = []
    for number, cells in enumerate(rows, start=1):
        record = by_tag.get(cells[0]) if first.tag is not None else first
        values = cells[1:] if first.tag is not None else cells
        if record is None or len(values) != len(record.columns):
            raise ValueError(f"line {number} is no record of layout {layout.name}: {cells!r}")
        if record is first:
            orders.append({})
        elif not orders:
            raise ValueError(f"line {number}: a {record.name} record before any order")
        _apply(orders[-1], record, values, fmt)
    return orders


def _read_xml(layout: Layout, data: bytes) -> list[Doc]:
    fmt = layout.format
    top = etree.fromstring(data, _PARSER)
    elements = list(top) if fmt.batch_root is not None else [top]
    orders: list[Doc] = []
    for element in elements:
        doc: Doc = {}
        for record in layout.records:
            for base in _bases(element, record):
                values = [_xml_value(base, c) for c in record.columns]
                _apply(doc, record, values, fmt)
        orders.append(doc)
    return orders


def _bases(element: etree._Element, record: Record) -> list[etree._Element]:
    if record.repeat is None:
        return [element]
    *parents, last = record.repeat.steps
    current: etree._Element | None = element
    for step in parents:
        current = current.find(step) if current is not None else None
    return [] if current is None else current.findall(last)


def _xml_value(base: etree._Element, column: Column) -> str:
    path = column.xml
    if path is None:
        return ""
    current: etree._Element | None = base
    for step in path.steps:
        current = current.find(step) if current is not None else None
    if current is None:
        return ""
    if path.attribute is not None:
        return current.get(path.attribute) or ""
    return current.text or ""


def _apply(order: Doc, record: Record, values: list[str], fmt: OrderFormat) -> None:
    """Put a row's values where their paths point: in the order, or in a new list entry."""
    entry: Doc = {}
    if record.each is not None:
        order.setdefault(record.each, []).append(entry)
    for column, text in zip(record.columns, values, strict=True):
        source = column.source
        if isinstance(source, FirstOf):  # `PartNo | ErpPartNo` reads back as the first
            source = next((s for s in source.sources if isinstance(s, FieldPath)), source)
        if not isinstance(source, FieldPath) or text == "":
            continue
        value = parse_text(text, source, column, fmt)
        in_order = source.from_order or record.each is None
        _set(order if in_order else entry, source, value, keep=in_order and record.each is not None)


def _set(doc: Doc, source: FieldPath, value: Value, *, keep: bool) -> None:
    *parents, last = source.steps
    for step in parents:
        doc = doc.setdefault(step.alias, {})
    if last.code is not None:
        infos: list[Doc] = doc.setdefault(last.alias, [])
        if not keep or all(i["Code2"] != last.code for i in infos):
            infos.append({"Code2": last.code, "Value": value})
    elif not keep or last.alias not in doc:
        # `keep`: an order field repeated on every line is the order's, read once.
        doc[last.alias] = value


def parse_text(text: str, source: FieldPath, column: Column, fmt: OrderFormat) -> Value:
    """A cell's text as the field's type, read the way `format_value` wrote it."""
    try:
        if source.kind == "decimal":
            return Decimal(text.replace(fmt.decimal, "."))
        if source.kind == "int":
            return int(text)
        if source.kind == "bool":
            return {fmt.booleans[0]: True, fmt.booleans[1]: False}[text]
        if source.kind == "datetime":
            return dt.datetime.strptime(text, column.date_format or fmt.date_format)
    except (InvalidOperation, ValueError, KeyError) as exc:
        raise ValueError(f"{column.name!r}: {text!r} is not a {source.kind}") from exc
    return text

"""Prepared orders -> an XML order file (a UBL Order, or an ERP's own XML), with lxml.

Each order is its own document element (`[format] root`); a batch file wraps them in
`batch_root`. An entry's element path is walked from its base (the order's element, or the
element its repeating record writes per entry): a step reuses the latest element of that
name under the same parent, else creates it, so `A/B` then `A/C` make one `A` holding `B`
and `C`, in the order the layout lists them (which is how a schema's sequence is kept).

An entry whose value is empty writes nothing: no empty element, which UBL forbids. A literal
attribute (`cbc:EndpointID/@schemeID = '0088'`) only decorates an element that something
else created, so an absent EndpointID does not leave a lone `schemeID` behind; so does any
attribute of an element whose text the same record writes (`cbc:Amount/@currencyID` waits
for `cbc:Amount`), so an empty amount leaves no `<cbc:Amount currencyID="SEK"/>`.

A row written into an empty element (a repeating record's entry, or an order's first record)
can find nothing there it did not make itself, so what it makes depends only on which of its
cells are empty: that is worked out once per record and such pattern (`_Plan`) and replayed,
instead of walking every column's path again for every order. A row written where elements
already are (a second record at the order's level) walks the paths (`_fill`).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from lxml import etree

from etl.to_erp.files.layout_spec import OrderFormat
from etl.to_erp.files.layouts import Column, Layout, Record
from etl.to_erp.files.prepared import Prepared, Row
from etl.to_erp.files.sources import Constant
from etl.to_erp.files.xmlpaths import XmlPath, parse_path


def render_xml(layout: Layout, orders: Sequence[Prepared]) -> bytes:
    """The XML file's bytes."""
    fmt = layout.format
    if fmt.batch_root is not None:
        top = etree.Element(_element_name(fmt.batch_root, fmt), nsmap=_nsmap(fmt))
        for order in orders:
            top.append(order_element(order.rows, fmt))
    else:
        (order,) = orders
        top = order_element(order.rows, fmt)
    data = etree.tostring(top, xml_declaration=True, encoding=fmt.encoding, pretty_print=True)
    return cast(bytes, data)  # bytes whenever an encoding is given


def order_element(rows: Sequence[Row], fmt: OrderFormat) -> etree._Element:
    """One order's document element."""
    root = etree.Element(_element_name(fmt.root or "", fmt), nsmap=_nsmap(fmt))
    for row in rows:
        base = root
        if row.record.repeat is not None:
            base = _walk(root, row.record.repeat.steps, create_last=True)
        if len(base) == 0:
            _plan(row.record, row.cells).replay(base, row.cells)
        else:
            _fill(base, row.record.columns, row.cells)
        parent = base.getparent()
        if base is not root and parent is not None and not _has_content(base):
            parent.remove(base)
    return root


def _fill(base: etree._Element, columns: Sequence[Column], cells: Sequence[str]) -> None:
    decorations: list[tuple[XmlPath, str]] = []
    with_text = {c.xml.steps for c in columns if c.xml is not None and c.xml.attribute is None}
    reached = _Reached(base)
    for column, text in zip(columns, cells, strict=True):
        path = column.xml
        if path is None or text == "":
            continue
        if path.attribute is not None and (
            isinstance(column.source, Constant) or path.steps in with_text
        ):
            decorations.append((path, text))  # applied once the elements exist
            continue
        element = reached.make(path.steps)
        if path.attribute is not None:
            element.set(path.attribute, text)
        else:
            element.text = text
    for path, text in decorations:
        decorated = reached.seek(path.steps)
        if decorated is not None and path.attribute is not None:
            decorated.set(path.attribute, text)


class _Reached:
    """The elements one row reached, by their steps from its base, as `_walk` finds them.

    A row's columns share long prefixes (cac:BuyerCustomerParty/cac:Party/...): each is walked
    once, not once a column. Exact while the row is written: a step's element is created only
    when there is none, so the latest element of a prefix never changes under it. Below an
    element this row created (or a base that was empty) nothing else can be, so a missing
    step there is created without looking through the children.
    """

    def __init__(self, base: etree._Element) -> None:
        self.elements: dict[tuple[str, ...], etree._Element] = {(): base}
        self.fresh: set[tuple[str, ...]] = {()} if len(base) == 0 else set()

    def make(self, steps: tuple[str, ...]) -> etree._Element:
        """The latest element at `steps`, created where missing."""
        known, current = self._known(steps)
        for end in range(known + 1, len(steps) + 1):
            found = None if steps[: end - 1] in self.fresh else _latest(current, steps[end - 1])
            if found is None:
                found = etree.SubElement(current, steps[end - 1])
                self.fresh.add(steps[:end])
            self.elements[steps[:end]] = current = found
        return current

    def seek(self, steps: tuple[str, ...]) -> etree._Element | None:
        """The latest element at `steps`, or None where one is missing."""
        known, current = self._known(steps)
        for end in range(known + 1, len(steps) + 1):
            found = _latest(current, steps[end - 1])
            if found is None:
                return None
            self.elements[steps[:end]] = current = found
        return current

    def _known(self, steps: tuple[str, ...]) -> tuple[int, etree._Element]:
        """How many of `steps` were reached already (the empty prefix always is), and where."""
        known = len(steps)
        while steps[:known] not in self.elements:
            known -= 1
        return known, self.elements[steps[:known]]


# A plan's elements made once (per thread, per namespaces in scope), to be copied.
_Shape = tuple[etree._Element, tuple[int, ...]]


@dataclass(frozen=True)
class _Plan:
    """What `_fill` does to an empty base for one pattern of empty cells, as steps to replay.

    `made`: each element `_fill` creates, in creation order, as (its parent's slot, tag); slot
    0 is the base, slot k the k-th element made. `sets`: each text or attribute `_fill` writes,
    in its order, as (slot, attribute or None for the text, cell index).

    The elements `made` are built once, under a holder declaring the namespaces the base has
    in scope, and copied for each row (one call into lxml instead of one an element); the
    copies are moved into the base, where lxml points each at the base's declaration of its
    namespace, exactly as an element made there would be (tests/to_erp/files/test_xml_plans.py,
    test_xml_plan_copies.py).
    """

    made: tuple[tuple[int, str], ...]
    sets: tuple[tuple[int, str | None, int], ...]
    shapes: dict[tuple[object, ...], _Shape] = field(default_factory=dict, compare=False)
    # The namespace URIs of the elements and attributes it writes.
    uris: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        names = [tag for _, tag in self.made] + [a for _, a, _ in self.sets if a is not None]
        uris = frozenset(n[1:].partition("}")[0] for n in names if n.startswith("{"))
        object.__setattr__(self, "uris", uris)

    def replay(self, base: etree._Element, cells: Sequence[str]) -> None:
        """Write `cells` into the empty `base` as `_fill` would."""
        nsmap = base.nsmap
        if not self.uris <= set(nsmap.values()):
            # A namespace the base does not declare gets a prefix lxml numbers per document:
            # only elements made in the base's own document are numbered as `_fill`'s are.
            slots = [base]
            for parent, tag in self.made:
                slots.append(etree.SubElement(slots[parent], tag))
            self._set(slots, cells)
            return
        holder, where = self._shape(nsmap)
        made = copy.deepcopy(holder)
        inside = list(made.iter())
        self._set([base, *(inside[i] for i in where)], cells)
        base.extend(list(made))

    def _set(self, slots: Sequence[etree._Element], cells: Sequence[str]) -> None:
        for slot, attribute, cell in self.sets:
            if attribute is None:
                slots[slot].text = cells[cell]
            else:
                slots[slot].set(attribute, cells[cell])

    def _shape(self, nsmap: Mapping[str | None, str]) -> _Shape:
        """The holder of the elements `made`, and where each is in its document order."""
        # Per thread: lxml trees are not shared between threads here, only copied within one.
        key = (threading.get_ident(), *sorted(nsmap.items(), key=lambda kv: (kv[0] or "", kv[1])))
        found = self.shapes.get(key)
        if found is None:
            holder = etree.Element("holder", nsmap=cast("dict[str, str]", dict(nsmap)))
            slots = [holder]
            for parent, tag in self.made:
                slots.append(etree.SubElement(slots[parent], tag))
            order = {id(element): i for i, element in enumerate(holder.iter())}
            found = self.shapes[key] = (holder, tuple(order[id(e)] for e in slots[1:]))
        return found


# Per record, by its id, the plans of the patterns seen so far; dropped when the record goes
# (each pass loads the layouts anew), before its id can be another's. A pattern is which
# cells are filled: orders vary in a few optional fields, so a record sees a few dozen; past
# the cap a plan is still made, just not kept.
_PLANS: dict[int, dict[tuple[bool, ...], _Plan]] = {}
_PLANS_PER_RECORD = 512


def _plan(record: Record, cells: Sequence[str]) -> _Plan:
    """The plan for this record's row with these cells filled (an empty cell writes nothing)."""
    plans = _PLANS.get(id(record))
    if plans is None:
        plans = _PLANS[id(record)] = {}
        weakref.finalize(record, _PLANS.pop, id(record), None)
    filled = tuple(map(bool, cells))
    plan = plans.get(filled)
    if plan is None:
        plan = _planned(record.columns, filled)
        if len(plans) < _PLANS_PER_RECORD:
            plans[filled] = plan
    return plan


def _planned(columns: Sequence[Column], filled: Sequence[bool]) -> _Plan:
    """`_fill`'s walk over an empty base, recorded: there every element reached is one it
    made, so a step is found exactly when its prefix was reached, and made otherwise."""
    with_text = {c.xml.steps for c in columns if c.xml is not None and c.xml.attribute is None}
    slots: dict[tuple[str, ...], int] = {(): 0}
    made: list[tuple[int, str]] = []
    sets: list[tuple[int, str | None, int]] = []
    decorations: list[tuple[XmlPath, int]] = []
    for index, (column, there) in enumerate(zip(columns, filled, strict=True)):
        path = column.xml
        if path is None or not there:
            continue
        if path.attribute is not None and (
            isinstance(column.source, Constant) or path.steps in with_text
        ):
            decorations.append((path, index))
            continue
        for end in range(1, len(path.steps) + 1):
            if path.steps[:end] not in slots:
                made.append((slots[path.steps[: end - 1]], path.steps[end - 1]))
                slots[path.steps[:end]] = len(made)
        sets.append((slots[path.steps], path.attribute, index))
    for path, index in decorations:
        if path.steps in slots and path.attribute is not None:
            sets.append((slots[path.steps], path.attribute, index))
    return _Plan(tuple(made), tuple(sets))


def _walk(
    base: etree._Element, steps: Sequence[str], *, create_last: bool = False
) -> etree._Element:
    current = base
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        existing = None if (last and create_last) else _latest(current, step)
        current = etree.SubElement(current, step) if existing is None else existing
    return current


def _latest(parent: etree._Element, tag: str) -> etree._Element | None:
    for child in reversed(parent):
        if child.tag == tag:
            return child
    return None


def _has_content(element: etree._Element) -> bool:
    return bool(element.text) or len(element) > 0 or bool(element.attrib)


def _nsmap(fmt: OrderFormat) -> dict[str, str]:
    nsmap: dict[str | None, str] = {None: fmt.namespace} if fmt.namespace else {}
    nsmap.update(fmt.namespaces)
    # lxml takes None as the default namespace's prefix; lxml-stubs do not know that.
    return cast("dict[str, str]", nsmap)


def _element_name(name: str, fmt: OrderFormat) -> str:
    (step,) = parse_path(name, fmt.namespace, fmt.namespaces, elements_only=True).steps
    return step

"""The flat reading (every field on the record or a child of it) gives the general one's rows
and refusals: the same fields read once as they are and once beside a `position()` field,
which takes the general handlers, on generated documents that try every shape they meet."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import read_xml
from etl.read.formats.xml_batches import BATCH_ROWS
from etl.read.formats.xml_bounds import BLOCK
from tests.support.xml_readings import same_reading

NAMES = ["Name", "Qty", "ns:Code", "Deep", "Item", "W"]  # W: a one-letter name
FLAT_FIELDS = [
    "@sku",
    "@ns:kind",
    "Name",
    "Qty",
    "Qty/@unit",
    "ns:Code",
    "ns:Code/@ns:scheme",
    "W/@code",
    "Item",
    "Missing",
    "Missing/@x",
]
NS = "urn:example:ns"
TEXTS = st.one_of(
    st.sampled_from(["", " ", "W", "x", "1", " padded ", "\n", "a\r\nb", "€uro", "åäö", "🙂"]),
    st.text(max_size=12),
    # Around max_cell_bytes (1024): in characters and, with ä and 🙂, only in bytes.
    st.sampled_from([300, 1000, 1030]).flatmap(
        lambda n: st.sampled_from(["a" * n, "ä" * n, "🙂" * (n // 3), "ab" * (n // 2)])
    ),
)


def _escaped(text: str) -> str:
    return "".join(
        {"<": "&lt;", "&": "&amp;", ">": "&gt;", "\r": "&#13;"}.get(c, c)
        for c in text
        if c in "\t\n\r"
        or (c >= " " and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff")
    )


@st.composite
def _text(draw: st.DrawFn) -> str:
    text = _escaped(draw(TEXTS))
    shape = draw(st.sampled_from(["plain", "cdata", "comment", "pi", "entity", "bad_entity"]))
    if shape == "cdata" and "]]>" not in text:
        return f"<![CDATA[{text.replace('&amp;', '&').replace('&lt;', '<')}]]>"
    if shape == "comment":
        return f"{text}<!-- note -->{text}"
    if shape == "pi":
        return f"<?app hint?>{text}"
    if shape == "entity":
        return f"{text}&amp;&#228;&quot;"
    if shape == "bad_entity" and draw(st.integers(0, 9)) == 0:
        return f"{text}&nbsp;"
    return text


@st.composite
def _element(draw: st.DrawFn, depth: int) -> str:
    name = draw(st.sampled_from(NAMES))
    attributes = draw(
        st.lists(st.sampled_from(['unit="kg"', 'code="C"', 'ns:scheme="GS1"', "x=''"]), max_size=2)
    )
    attrs = " ".join(dict.fromkeys(attributes))
    inner = draw(_text()) if draw(st.booleans()) else ""
    if depth < 3 and draw(st.integers(0, 3)) == 0:
        children = draw(st.lists(_element(depth + 1), max_size=2))
        inner += "".join(children) + (draw(_text()) if draw(st.booleans()) else "")
    return (
        f"<{name} {attrs}>{inner}</{name}>"
        if inner or draw(st.booleans())
        else f"<{name} {attrs}/>"
    )


@st.composite
def _record(draw: st.DrawFn) -> str:
    attrs = draw(st.sampled_from(['sku="S1"', 'sku="" ns:kind="k"', "", 'sku="ä"']))
    children = draw(st.lists(_element(1), max_size=5))
    gap = draw(st.sampled_from(["", "\n  ", "  \n\t"]))
    return f"<Item {attrs}>{gap}{gap.join(children)}{gap}</Item>"


@st.composite
def _document(draw: st.DrawFn) -> str:
    records = draw(st.lists(_record(), max_size=6))
    between = draw(st.sampled_from(["\n", "", "\n<Other>text<Item sku='no'/></Other>\n"]))
    body = between.join(records)
    doc = f'<Root xmlns:ns="{NS}">\n{body}\n</Root>\n'
    if draw(st.integers(0, 7)) == 0:
        doc = doc[: draw(st.integers(0, len(doc)))]  # cut short: not well-formed
    return doc


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=_document(),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
    fields=st.lists(st.sampled_from(FLAT_FIELDS), min_size=1, max_size=6, unique=True),
    max_rows=st.sampled_from([None, 2]),
)
def test_flat_fields_read_as_the_general_handlers_read_them(
    tmp_path_factory: pytest.TempPathFactory,
    doc: str,
    encoding: str,
    fields: list[str],
    max_rows: int | None,
) -> None:
    path = tmp_path_factory.mktemp("flat") / "items.xml"
    declared = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    path.write_bytes((declared + doc).encode(encoding, errors="replace"))
    bounds = {"max_cell_bytes": 1024} | ({"max_rows": max_rows} if max_rows else {})
    fmt = FormatSpec(type="xml", record="Root/Item", namespaces={"ns": NS}, **bounds)

    same_reading(path, fmt, fields)


def test_flat_reading_past_blocks_and_batches_and_nested_too_deep(tmp_path: Path) -> None:
    records = BATCH_ROWS + 11
    body = "".join(
        f'<Item sku="{n:07}">\n  <W code="MAIN"/>\n  <Name>n{n}</Name>\n  <Qty>{n % 5}</Qty>\n'
        f"{'  <Qty>9</Qty><Deep><Name>no</Name></Deep>' if n % 1000 == 0 else ''}</Item>\n"
        for n in range(records)
    )
    path = tmp_path / "items.xml"
    path.write_text(f"<Root>\n{body}</Root>\n", encoding="utf-8")
    assert path.stat().st_size > 2 * BLOCK
    fmt = FormatSpec(type="xml", record="Root/Item")
    fields = ["@sku", "W/@code", "Name", "Qty", "Missing"]
    same_reading(path, fmt, fields)

    deep = tmp_path / "deep.xml"
    deep.write_text(f"<Root><Item><Name>a</Name>{'<D>' * 300}{'</D>' * 300}</Item></Root>")
    same_reading(deep, fmt, fields)
    with pytest.raises(ParseError, match="nested more than 256 deep"):
        read_xml(deep, fmt, fields)

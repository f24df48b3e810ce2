"""XML reader: streams records into column buffers with a parser that refuses DTDs.

Entities are never expanded, no network or DTD is ever loaded, and a document that
declares a DOCTYPE is refused outright: that is where entity bombs and external-entity
tricks live, and an ERP export has no use for one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from lxml import etree

from etl.contracts import FormatSpec
from etl.errors import ParseError
from etl.models import LINE, ParsedFile

Getter = Callable[[etree._Element], str | None]


def read_xml(path: Path, fmt: FormatSpec, fields: list[str]) -> ParsedFile:
    """Read every record element at `fmt.record`; `fields` are paths relative to a record."""
    assert fmt.record is not None
    tag = _qualified(fmt.record.rsplit("/", 1)[-1], fmt.namespaces)
    getters = [_getter(f, fmt.namespaces) for f in fields]
    buffers: list[list[str | None]] = [[] for _ in fields]
    lines: list[int] = []
    context = etree.iterparse(
        str(path),
        events=("end",),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        for _, record in context:
            if not lines:
                _refuse_doctype(record, path)
            lines.append(record.sourceline or 0)
            for buffer, get in zip(buffers, getters, strict=True):
                buffer.append(get(record))
            # Free what was read: keeps memory flat on large files.
            record.clear(keep_tail=False)
            parent = record.getparent()
            while parent is not None and record.getprevious() is not None:
                del parent[0]
        if not lines and getattr(context, "root", None) is not None:
            _refuse_doctype(context.root, path)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise ParseError(f"{path.name}: not well-formed XML: {exc.msg}", line=line) from exc
    frame = pl.DataFrame(
        {f: pl.Series(f, b, dtype=pl.String) for f, b in zip(fields, buffers, strict=True)}
        | {LINE: pl.Series(LINE, lines, dtype=pl.Int64)}
    )
    frame = frame.with_columns(pl.col(f).str.strip_chars() for f in fields)
    return ParsedFile(path, frame, tuple(fields))


def _refuse_doctype(element: etree._Element, path: Path) -> None:
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # type: ignore[attr-defined]
        raise ParseError(f"{path.name}: DOCTYPE and entity declarations are not allowed", line=1)


def _qualified(step: str, namespaces: dict[str, str]) -> str:
    """`ns:Item` -> `{uri}Item` for lxml's tag filter."""
    if ":" in step:
        prefix, local = step.split(":", 1)
        if prefix not in namespaces:
            raise ParseError(f"namespace prefix {prefix!r} is not declared in the contract")
        return f"{{{namespaces[prefix]}}}{local}"
    return step


def _getter(field_path: str, namespaces: dict[str, str]) -> Getter:
    """A function reading one field: `Name`, `Stock/OnHand`, `@code` or `Warehouse/@code`."""
    element_path, _, attribute = field_path.partition("@")
    element_path = element_path.rstrip("/")
    if attribute and element_path:
        return lambda r: _attribute(r.find(element_path, namespaces), attribute)
    if attribute:
        return lambda r: r.get(attribute)
    return lambda r: r.findtext(element_path, None, namespaces)


def _attribute(element: etree._Element | None, name: str) -> str | None:
    return None if element is None else element.get(name)

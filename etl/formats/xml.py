"""XML reader: streams records straight into column buffers with expat; DTDs are refused.

A document that declares a DOCTYPE is refused as soon as the declaration starts, before
any entity in it is read: that is where entity bombs and external-entity tricks live, and
an ERP export has no use for one. Nothing is ever fetched and no tree is built. expat also
gives the exact line of every record (libxml2 stops counting element lines at 65535).

Field paths are relative to a record: `Name`, `Stock/OnHand`, `@code`, `Warehouse/@code`,
with namespace prefixes declared in the contract. The first element on a path wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import polars as pl

from etl.contracts import FormatSpec
from etl.errors import ParseError
from etl.formats.text import clean_cells
from etl.models import LINE, ParsedFile

_BLOCK = 1 << 20


@dataclass
class _Step:
    """One element step below a record: the fields read there, and the steps below it."""

    children: dict[str, _Step] = field(default_factory=dict)
    texts: list[int] = field(default_factory=list)
    attributes: list[tuple[int, str]] = field(default_factory=list)


def read_xml(path: Path, fmt: FormatSpec, fields: list[str]) -> ParsedFile:
    """Read every record element at `fmt.record`; `fields` are paths relative to a record."""
    assert fmt.record is not None
    record = [_name(s, fmt.namespaces) for s in fmt.record.strip("/").split("/")]
    records = _Records(record, _steps(fields, fmt.namespaces), len(fields))
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = records.start
    parser.EndElementHandler = records.end
    parser.CharacterDataHandler = records.text
    records.parser = parser
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        reason = expat.errors.messages[exc.code]
        raise ParseError(
            f"{path.name}: not well-formed XML: {reason} (column {exc.offset + 1})",
            line=exc.lineno,
        ) from exc
    except _Doctype as exc:
        raise ParseError(
            f"{path.name}: DOCTYPE and entity declarations are not allowed",
            line=parser.CurrentLineNumber,
        ) from exc
    frame = pl.DataFrame(
        {f: pl.Series(f, b, dtype=pl.String) for f, b in zip(fields, records.buffers, strict=True)}
        | {LINE: pl.Series(LINE, records.lines, dtype=pl.Int64)}
    )
    absent = tuple(f for f, seen in zip(fields, records.seen, strict=True) if not seen)
    return ParsedFile(path, clean_cells(frame, fields, fmt.null_values), tuple(fields), absent)


class _Doctype(Exception):
    """Raised inside expat the moment a DOCTYPE or entity declaration starts."""


def _refuse_doctype(*_: object) -> None:
    raise _Doctype


class _Records:
    """expat handlers: one buffer per field, the line of every record, nothing else kept."""

    def __init__(self, record: list[str], top: _Step, width: int) -> None:
        self.outer_path, self.tag = record[:-1], record[-1]
        self.top, self.width = top, width
        self.parser: expat.XMLParserType | None = None
        self.buffers: list[list[str | None]] = [[] for _ in range(width)]
        self.lines: list[int] = []
        self.outer: list[str] = []  # open elements above the records
        self.inside: list[_Step | None] = []  # open elements of the current record
        self.row: list[str | None] = [None] * width
        self.seen = [False] * width  # which field paths occurred at least once
        self.capture: list[int] = []  # fields whose text is being read
        self.parts: list[str] = []

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens: a record, a step inside one, or something above the records."""
        if self.capture:
            self._flush()  # only the text before the first child counts, as in `.text`
        inside = self.inside
        if inside:
            parent = inside[-1]
            step = None if parent is None else parent.children.get(name)
            inside.append(step)
            if step is not None:
                self._enter(step, attributes)
        elif name == self.tag and self.outer == self.outer_path:
            assert self.parser is not None
            self.lines.append(self.parser.CurrentLineNumber)
            self.inside.append(self.top)
            self._enter(self.top, attributes)
        else:
            self.outer.append(name)

    def end(self, name: str) -> None:
        """An element closes; a closing record moves its values to the buffers."""
        if self.capture:
            self._flush()
        inside = self.inside
        if not inside:
            self.outer.pop()
            return
        inside.pop()
        if not inside:
            for index, (buffer, value) in enumerate(zip(self.buffers, self.row, strict=True)):
                buffer.append(value)
                if value is not None:
                    self.seen[index] = True
            self.row = [None] * self.width

    def text(self, data: str) -> None:
        """Character data, kept only while a field's element is being read."""
        if self.capture:
            self.parts.append(data)

    def _enter(self, step: _Step, attributes: dict[str, str]) -> None:
        row = self.row
        for index, attribute in step.attributes:
            if row[index] is None:
                row[index] = attributes.get(attribute)
        if step.texts:
            self.capture = [i for i in step.texts if row[i] is None]

    def _flush(self) -> None:
        value = "".join(self.parts)
        for index in self.capture:
            self.row[index] = value
        self.capture = []
        self.parts.clear()


def _steps(fields: list[str], namespaces: dict[str, str]) -> _Step:
    """The field paths as a tree of element steps below the record."""
    top = _Step()
    for index, path in enumerate(fields):
        element_path, _, attribute = path.partition("@")
        step = top
        for name in (s for s in element_path.split("/") if s not in ("", ".")):
            step = step.children.setdefault(_name(name, namespaces), _Step())
        if attribute:
            step.attributes.append((index, _name(attribute, namespaces)))
        else:
            step.texts.append(index)
    return top


def _name(step: str, namespaces: dict[str, str]) -> str:
    """`ns:Item` -> `uri}Item`, the way expat names namespaced elements and attributes."""
    if ":" not in step:
        return step
    prefix, local = step.split(":", 1)
    if prefix not in namespaces:
        raise ParseError(f"namespace prefix {prefix!r} is not declared in the contract")
    return f"{namespaces[prefix]}}}{local}"

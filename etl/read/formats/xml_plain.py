"""Plain records read from the text with a regular expression; expat only checks them.

The flat reading (etl.read.formats.xml `_FlatRecords`) costs two Python calls an element,
and those calls, not expat, are most of a stock export's reading time. Most records of an
export are plain: the record and its children with ASCII names (no prefix, no `xmlns`),
attribute values in double quotes, texts without `&`, `<`, CR, comment, CDATA or processing
instruction, and no grandchild. Such a record has a shape (its elements and attributes in
order, and how each is written), and one compiled expression per shape reads the values of
a record of that shape, in its fields' order, as the handlers would: the first element of a
name wins, `<A/>` and `<A></A>` read "" and a missing one None.

A run of plain records is still handed to expat, with no element or text handler: expat
checks every byte of it as before, so a broken record is refused with the same error at the
same line and column, and only then are the values taken. Nothing of a run can pass a bound:
its texts and values are kept to `Bounds.loose` characters (surely within `max_cell_bytes`,
read or not), it nests two deep, the run stops before the row over `max_rows`, and the names
it uses are added to the parser's names as expat's handlers would have added them. A run
starts only where the handlers stand between two records with nothing held by expat (not in
a CDATA section, no token cut), so the handlers take up exactly where it ends. Any other
record, and every file not in UTF-8, is read by the handlers as before.

Lines are counted from the newlines of the run, from expat's line where it starts; a block
with a CR not followed by LF (a line break to expat, not to the count) has no run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from xml.parsers import expat

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_SPACE = "[ \t\r\n]"
_TAG = re.compile(
    rf"<({_NAME})((?:{_SPACE}+{_NAME}{_SPACE}*={_SPACE}*\"[^\"<&\t\r\n]*\")*)({_SPACE}*)(/?)>"
)
_ATTRIBUTE = re.compile(rf"({_SPACE}+)({_NAME})({_SPACE}*={_SPACE}*)\"[^\"<&\t\r\n]*\"")
_GAP = re.compile(rf"{_SPACE}*")
_TEXT = re.compile(r"[^<&\r]*")
_LONE_CR = re.compile(r"\r(?!\n)")
_DEFAULT_NAMESPACE = re.compile("xmlns(?!:)")  # `xmlns:p=` declares a prefix, nothing else
_DECLARED = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
MAX_SHAPES = 32  # an export writes a few shapes; past this many, the handlers read the rest
MAX_MISSES = 16  # record starts a block may try in vain before the handlers read the rest of it
MAX_RUN_TEXT = 1 << 20  # characters of one text or gap a run takes; `re` refuses 2**32 - 1


@dataclass(frozen=True)
class Child:
    """What the fields read at one child element: its text's cells, its attributes' cells."""

    texts: tuple[int, ...]
    attributes: tuple[tuple[int, str], ...]


@dataclass
class Shape:
    """One way a plain record is written: the expression that reads it and the names in it."""

    pattern: re.Pattern[str]
    cells: Callable[[re.Match[str]], tuple[str | None, ...]]
    names: frozenset[str]


@dataclass
class Run:
    """Plain records from `at` to `end`: their cells row after row, their lines, their names."""

    end: int
    cells: list[str | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


class Reader(Protocol):
    """The handlers' side of a plain run (etl.read.formats.xml `_FlatRecords`)."""

    def between_records(self) -> bool:
        """Whether the handlers stand where a record may start, nothing of one open."""

    def room(self) -> int:
        """Rows that may still be read before `format.max_rows` refuses the file."""

    def begin_run(self) -> None:
        """What the handlers do as a record opens (the text before it), then handlers off."""

    def end_run(self, run: Run) -> None:
        """Handlers on again, and the run's rows as they would have read them."""


class Plain:
    """The shapes of a contract's plain records, found as the records come."""

    def __init__(
        self,
        tag: str,
        own: dict[str, tuple[int, ...]],
        children: dict[str, Child],
        width: int,
        bound: int,
    ) -> None:
        self.tag, self.own, self.children, self.width = tag, own, children, width
        # Characters a text may have in a run: within max_cell_bytes in UTF-8 for sure, and
        # within what a repeat count of `re` may be (a longer text is read by the handlers).
        bound = min(bound, MAX_RUN_TEXT)
        self.gap = f"{_SPACE}{{0,{bound}}}"
        self.text = f"[^<&\\r]{{0,{bound}}}"
        self.value = f'[^"<&\\t\\r\\n]{{0,{bound}}}'
        self.shapes: dict[str, Shape | None] = {}

    def run(self, text: str, at: int, room: int, line: int) -> Run:
        """The plain records from `at` on (at most `room`), the first at line `line`."""
        run = Run(at)
        cells, lines = run.cells, run.lines
        end = last = at
        shape: Shape | None = None
        while len(lines) < room:
            match = None if shape is None else shape.pattern.match(text, end)
            if shape is None or match is None:
                found = self._find(text, end)
                if found is None:
                    break
                shape, match = found
                run.names |= shape.names
            start = match.start(2)
            line += text.count("\n", last, start)
            last = start
            lines.append(line)
            cells.extend(shape.cells(match))
            end = match.end()
        run.end = end
        return run

    def _find(self, text: str, at: int) -> tuple[Shape, re.Match[str]] | None:
        """A shape that reads the record after `at` (and the gap before it), and its match;
        None when that record is not plain.

        The shape is looked up by the record's key, never by trying the known ones in turn:
        shapes that take turns would each cost a match of the record per shape known.
        """
        gap = _GAP.match(text, at)
        assert gap is not None
        start = gap.end()
        key = _key(text, start, self.tag) if text.startswith(f"<{self.tag}", start) else None
        if key is None or (key not in self.shapes and len(self.shapes) >= MAX_SHAPES):
            return None
        if key not in self.shapes:
            self.shapes[key] = self._compile(text, start)
        known = self.shapes[key]
        match = None if known is None else known.pattern.match(text, at)
        if known is None or match is None:
            return None
        return known, match

    def _compile(self, text: str, at: int) -> Shape | None:
        """The expression for the record at `at`: its elements in order, the cells it reads."""
        # Group 1 is never set (the cells no element gives); group 2 marks the record's `<`.
        written = _Expression([f"(?:(?!)())?{self.gap}()"])
        record = _TAG.match(text, at)
        if record is None or record[1] != self.tag or not self._tag(written, record, self.own):
            return None
        if not record[4] and not self._children(written, text, record.end()):
            return None
        order = tuple(written.source.get(index, 1) for index in range(self.width))
        pattern = re.compile("".join(written.parts))
        return Shape(pattern, _reader(order), frozenset(written.names))

    def _children(self, written: _Expression, text: str, pos: int) -> bool:
        """The record's children from `pos` to its end tag; False when one is not plain."""
        while True:
            gap = _GAP.match(text, pos)
            assert gap is not None
            written.parts.append(self.gap)
            pos = gap.end()
            tag = _TAG.match(text, pos)
            if tag is None:
                return self._close(written, text, pos, self.tag) >= 0
            child = self.children.get(tag[1], Child((), ()))
            attributes: dict[str, tuple[int, ...]] = {}
            for index, name in child.attributes:
                attributes[name] = (*attributes.get(name, ()), index)
            if not self._tag(written, tag, attributes):
                return False
            if tag[4]:
                written.add("", child.texts)  # <A/> reads ""
                pos = tag.end()
                continue
            body = _TEXT.match(text, tag.end())
            assert body is not None
            written.add(self.text, child.texts)
            pos = self._close(written, text, body.end(), tag[1])
            if pos < 0:
                return False

    def _close(self, written: _Expression, text: str, pos: int, name: str) -> int:
        """Past the end tag of `name` at `pos` (-1: none there)."""
        pattern = f"</{re.escape(name)}{_SPACE}*>"
        close = re.compile(pattern).match(text, pos)
        if close is None:
            return -1
        written.parts.append(pattern)
        return close.end()

    def _tag(
        self, written: _Expression, tag: re.Match[str], reads: dict[str, tuple[int, ...]]
    ) -> bool:
        """A start tag as written, the attributes read as groups; False: it declares `xmlns`."""
        written.parts.append(f"<{re.escape(tag[1])}")
        written.names.add(tag[1])
        for attribute in _ATTRIBUTE.finditer(tag[2]):
            name = attribute[2]
            if name == "xmlns":
                return False  # a default namespace: the element's name is not `name`
            written.names.add(name)
            written.parts.append(re.escape(attribute[1] + name + attribute[3]) + '"')
            written.add(self.value, reads.get(name, ()))
            written.parts.append('"')
        written.parts.append(re.escape(tag[3] + tag[4] + ">"))
        return True


@dataclass
class _Expression:
    """A shape's expression as it is written, and which group reads each cell."""

    parts: list[str]
    groups: int = 2
    source: dict[int, int] = field(default_factory=dict)  # cell -> group
    names: set[str] = field(default_factory=set)

    def add(self, part: str, cells: tuple[int, ...]) -> None:
        """`part`, as a group if it reads a cell no element before it read (the first wins)."""
        wanted = [index for index in cells if index not in self.source]
        if wanted:
            self.groups += 1
            part = f"({part})"
            for index in wanted:
                self.source[index] = self.groups
        self.parts.append(part)


def _reader(order: tuple[int, ...]) -> Callable[[re.Match[str]], tuple[str | None, ...]]:
    """The cells of a match, in the fields' order."""
    if len(order) == 1:
        only = order[0]
        return lambda match: (match.group(only),)
    return lambda match: match.group(*order)


def _key(text: str, at: int, tag: str) -> str | None:
    """What tells one shape from another: the record's markup with its texts and values out."""
    end = text.find(f"</{tag}", at)
    if end < 0:
        tag_end = _TAG.match(text, at)
        if tag_end is None or not tag_end[4]:
            return None
        end = tag_end.end()
    else:
        end = text.find(">", end)
        if end < 0:
            return None
        end += 1
    record = text[at:end]
    return re.sub(r'"[^"]*"', '""', re.sub(r">[^<]*<", "><", record))


def utf8(head: bytes, named: str | None) -> bool:
    """Whether expat reads a file starting with `head` as UTF-8 (`named`: the contract's)."""
    if named is not None:
        return named.upper() == "UTF-8"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        return False
    body = head.removeprefix(b"\xef\xbb\xbf")
    if not body.startswith(b"<?xml"):
        return True
    declared = _DECLARED.search(body[: body.find(b"?>")])
    return declared is None or declared[1].upper() == b"UTF-8"


class Feed:
    """Hands a file's blocks to expat, plain runs with the handlers off, the rest with them on."""

    def __init__(self, parser: expat.XMLParserType, reader: Reader, plain: Plain) -> None:
        self.parser, self.reader, self.plain = parser, reader, plain
        self.opening = f"<{plain.tag}"
        self.fed = 0
        self.cdata = False
        # Under a default namespace expat names `<Item>` `uri}Item`, which the record's tag is
        # not. Expat's namespace handlers would add names to the parser's count of them, so the
        # text is looked at instead: from the first `xmlns=` on (in a tag or not, wherever it
        # scopes), the handlers read the rest of the file.
        self.default_namespace = False
        self.tail = ""  # the end of the block before: `xmlns` may stand across two
        parser.StartCdataSectionHandler = self._cdata_starts
        parser.EndCdataSectionHandler = self._cdata_ends

    def block(self, block: bytes) -> None:
        """Parse `block` (not the last): plain runs checked by expat, then read by `plain`."""
        text = block.decode("utf-8", "surrogateescape")  # a character cut at the end: escaped
        self.default_namespace |= _DEFAULT_NAMESPACE.search(self.tail + text) is not None
        self.tail = text[-4:]
        if self.default_namespace or ("\r" in text and _LONE_CR.search(text, 0, len(text) - 1)):
            self._parse(block)
            return
        pos = look = misses = 0
        while misses < MAX_MISSES and (at := text.find(self.opening, look)) >= 0:
            if at > pos:
                self._parse(text[pos:at].encode("utf-8", "surrogateescape"))
                pos = at
            look = at + 1
            if self._ready():
                run = self.plain.run(text, at, self.reader.room(), self.parser.CurrentLineNumber)
                if run.lines:
                    self.reader.begin_run()
                    # expat reads the run with no handler: it refuses it as it would with them.
                    self._parse(text[at : run.end].encode("utf-8", "surrogateescape"))
                    self.reader.end_run(run)
                    self._intern(run.names)
                    pos = look = run.end
                    continue
            misses += 1
        self._parse(text[pos:].encode("utf-8", "surrogateescape"))

    def _ready(self) -> bool:
        # expat holds nothing (every byte fed is parsed and reported) and is not in a CDATA
        # section: the handlers' state is the document's at this byte.
        return (
            not self.cdata
            and self.parser.CurrentByteIndex == self.fed
            and self.reader.between_records()
        )

    def _parse(self, data: bytes) -> None:
        self.parser.Parse(data, False)
        self.fed += len(data)

    def _intern(self, names: set[str]) -> None:
        # expat's handlers add every element and attribute name they are given to `intern`,
        # which the bound on distinct names counts; the run gave none.
        intern = self.parser.intern
        if intern is not None:
            for name in names:
                intern.setdefault(name, name)

    def _cdata_starts(self) -> None:
        self.cdata = True

    def _cdata_ends(self) -> None:
        self.cdata = False

"""XML reader: streams records straight into column buffers with expat; DTDs are refused.

The rows read become a polars frame a batch at a time (etl.read.formats.xml_batches), so
Python holds one batch of values, not the file's. The hot path is kept to two Python calls
an element: expat hands every text to `list.append` (a builtin), and start and end look at
what it gathered (a field's text is kept, any other is measured and dropped). A text over
`max_cell_bytes` is noticed at the next tag or block; the file is then read again measuring
each piece as it comes (`exact`), so the refusal names the line and column where the text
passed the bound, as before. When every field is on the record or a child of it (the stock
export's shape), handlers that follow the depth instead of a stack of steps read it
(`_FlatRecords`): the same rows and refusals, fewer steps an element. In a UTF-8 file their
plain records (no entity, comment, CDATA, CR, prefix or grandchild) are read by a compiled
expression per shape of record while expat checks them with no handler at all
(etl.read.formats.xml_plain): the same rows and refusals again, without a Python call an
element.

A document that declares a DOCTYPE is refused as soon as the declaration starts, before
any entity in it is read: that is where entity bombs and external-entity tricks live, and
an ERP export has no use for one. `format.doctype = "external_dtd"` takes a DOCTYPE that
only names an external DTD, as BMEcat files start with, without ever reading the DTD (see
etl.read.formats.xml_doctype). Nothing is ever fetched and no tree is built. expat also
gives the exact line of every record (libxml2 stops counting element lines at 65535).

Field paths are relative to a record: `Name`, `Stock/OnHand`, `@code`, `Warehouse/@code`,
with namespace prefixes declared in the contract. The first element on a path wins. The
grammar is etl.config.xml_paths: a step may carry a predicate (`PARTY[PARTY_ROLE='delivery']`,
`Party[@role='ship']`), and `position()` numbers the records of the file or the repeats of
a record (1, 2, ...), for documents whose line ids are free text.

A predicate on a child's text may only be decided when its element closes (openTRANS writes
PARTY_ROLE before or after ADDRESS), so the values read inside a predicated element are
written into the row as usual and taken out again when the element closes without a match:
no buffering beyond the one row. Only the elements that matched count for "first wins".

The contract's `encoding`, when it names one, is what the file is read in, whatever the
XML declaration says: an ERP that writes UTF-8 under `encoding="ISO-8859-1"` (or cp1252
with no declaration) is read right by saying so in the contract. Without it, the
declaration decides, as XML says.

Nested repeating elements (`format.repeat`, e.g. `Prices/Price` below a `Product`) are
flattened: each occurrence is one row. Fields whose path starts with the repeat path are read
from that occurrence (first element wins within it); the others are the record's and are
copied onto each of its rows. Each row's line is the line of its occurrence, so a report
points at the bad price, not at the product. Record fields may follow the repeated block
(`<Name>` after `</Prices>`), so a record's rows are completed when the record closes: the
repeated values go to their buffers as each occurrence closes, the record's values are then
appended once per occurrence. Memory stays one batch of buffers plus one record's row.

A record with no occurrence gives, by default (`repeat_empty = "row"`), one row at the
record's line with the repeated fields empty: in a full export a product whose prices went
missing is then reported (the required ones fail) and its readable key keeps its old rows
alive, instead of silently deactivating them. `repeat_empty = "skip"` gives no row, for
exports where an empty block means "none" and removals should follow (within the deletion
guard).

Every shape that would cost memory out of proportion to the file (a text of 300 MB, a
megabyte attribute, millions of records, nesting without end, names without end) is refused
while streaming, as the whole file: see etl.read.formats.xml_bounds.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.config.xml_paths import Predicate, parse_field
from etl.errors import ParseError
from etl.models import ParsedFile
from etl.read.formats.cells import clean_cells
from etl.read.formats.xml_batches import BATCH_ROWS, Batches
from etl.read.formats.xml_bounds import (
    BLOCK,
    Bounds,
    Shape,
    check_block,
    hardened_parser,
    many_rows,
    parse_errors,
    refused,
    too_long,
)
from etl.read.formats.xml_doctype import blank_external_doctype
from etl.read.formats.xml_plain import Child, Feed, Plain, Run, utf8

log = logging.getLogger(__name__)
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")


@dataclass(eq=False)
class _Step:
    """One element step below a record: the fields read there, and the steps below it."""

    children: dict[str, _Step] = field(default_factory=dict)
    texts: list[int] = field(default_factory=list)
    attributes: list[tuple[int, str]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # fields that take position()
    scopes: list[_Scope] = field(default_factory=list)  # one per predicate on this element
    # Entering the step does more than read texts and attributes: scopes or positions.
    # A plain attribute, not a property: it is read for every element of the file.
    special: bool = False
    # What _FlatRecords reads without a call (it sets them): the one attribute the step
    # reads and nothing else, or (plain) its one text and nothing else.
    lone: tuple[int, str] | None = None
    plain: bool = False


@dataclass(eq=False)
class _Scope:
    """One predicate on an element and the fields read through it.

    `slot` is the row cell (past the fields) that holds the predicate's value once it
    matched; `attribute` is the attribute it tests (None: a child's text, read into `slot`).
    """

    slot: int
    attribute: str | None
    wanted: str
    fields: list[int] = field(default_factory=list)  # fields whose path has this predicate
    pending: list[int] = field(default_factory=list)  # of those, the ones empty when it opened


def read_xml(path: Path, fmt: FormatSpec, fields: list[str]) -> ParsedFile:
    """Read every record element at `fmt.record`; `fields` are paths relative to a record."""
    encoding = _contract_encoding(path, fmt)  # once: it may warn, and a file is read once
    try:
        return _read(path, fmt, fields, encoding, exact=False)
    except _LongText:
        # The file is refused. Read again measuring every piece of text as it comes, to
        # refuse it where the text passed the bound, as a streaming check would.
        return _read(path, fmt, fields, encoding, exact=True)


class _LongText(Exception):
    """A text passed `max_cell_bytes` in characters; the exact reading says where."""


def _read(
    path: Path, fmt: FormatSpec, fields: list[str], encoding: str | None, exact: bool
) -> ParsedFile:
    """read_xml in `encoding`; `exact` measures each piece of text as expat reports it (slower)."""
    record = _record_path(fmt)
    top, expect = _steps(fields, fmt.namespaces)
    width = len(fields)
    parser = hardened_parser(encoding, fmt.doctype)
    where = _Where(path.name, parser, Bounds.of(fmt), fmt.record or "", fields)
    records: _Records
    if fmt.repeat is None and not exact and _flat(top):
        # The exact reading only words a refusal: the general handlers, which know where.
        records = _FlatRecords(record, top, width, expect, where)
    elif fmt.repeat is None:
        records = _Records(record, top, width, expect, where)
    else:
        # A class of its own: files without a repeat keep running the hot handlers unchanged.
        repeat = _step(top, fmt.repeat, fmt.namespaces)
        empty_row = fmt.repeat_empty == "row"
        records = _RepeatedRecords(record, top, width, expect, where, repeat, empty_row)
    parser.StartElementHandler = records.start
    parser.EndElementHandler = records.end
    # A builtin, not a Python function: most texts are the blanks between elements, and a
    # call of ours for each was a third of the reading time. start and end look at them.
    parser.CharacterDataHandler = records.text if exact else records.parts.append
    with parse_errors(path.name, parser), path.open("rb") as handle:
        fed = 0
        feed: Feed | None = None
        while block := handle.read(BLOCK):
            if fed == 0:
                if fmt.doctype == "external_dtd":
                    block = blank_external_doctype(block, path.name)  # a block >= PROLOG_BYTES
                if isinstance(records, _FlatRecords):
                    feed = records.plain_feed(block, encoding)
            if feed is None:
                parser.Parse(block, False)
            else:
                feed.block(block)
            fed += len(block)
            check_block(path.name, parser, where.bounds, fed)
            records.after_block()
        parser.Parse(b"", True)
        check_block(path.name, parser, where.bounds, fed)
        records.after_block()
    frame = records.frame()
    absent = tuple(f for f, seen in zip(fields, records.seen(), strict=True) if not seen)
    return ParsedFile(path, clean_cells(frame, fields, fmt.null_values), tuple(fields), absent)


def shape_check(fmt: FormatSpec, file: str) -> Shape:
    """The bounds of `read_xml`, to apply while `file` is expanded from an archive."""
    rows_at = _record_path(fmt)
    if fmt.repeat is not None:
        rows_at += [_name(s, fmt.namespaces) for s in fmt.repeat.split("/") if s not in ("", ".")]
    return Shape(file, named_encoding(fmt), Bounds.of(fmt), rows_at, fmt.doctype)


def _record_path(fmt: FormatSpec) -> list[str]:
    """`format.record` as the element names expat reports."""
    assert fmt.record is not None
    return [_name(s, fmt.namespaces) for s in fmt.record.strip("/").split("/")]


@dataclass(frozen=True)
class _Where:
    """What a refusal names: the file, expat's position, the bounds, the record and fields."""

    file: str
    parser: expat.XMLParserType
    bounds: Bounds
    record: str
    fields: list[str]

    def field(self, index: int) -> str:
        """The path of a field from the root (a predicate's own cell: the record's)."""
        if index >= len(self.fields):
            return self.record
        return f"{self.record}/{self.fields[index]}"


def named_encoding(fmt: FormatSpec) -> str | None:
    """The encoding an XML contract names (it wins over the file's declaration), else None."""
    return fmt.encoding if "encoding" in fmt.model_fields_set else None


def _contract_encoding(path: Path, fmt: FormatSpec) -> str | None:
    """`named_encoding`, with a warning when the file declares another."""
    if named_encoding(fmt) is None:
        return None
    with path.open("rb") as handle:
        declared = _DECLARED.match(handle.read(1024))
    if declared:
        said = declared[1].decode("ascii")
        try:
            same = codecs.lookup(said).name == codecs.lookup(fmt.encoding).name
        except LookupError:
            same = False
        if not same:
            log.warning(
                "%s declares encoding %r; read as %r, the encoding its contract names",
                path.name,
                said,
                fmt.encoding,
            )
    return fmt.encoding


class _Records:
    """expat handlers: the cells of every record and its line, a batch at a time, nothing else."""

    def __init__(
        self, record: list[str], top: _Step, width: int, expect: dict[int, str], where: _Where
    ) -> None:
        self.outer_path, self.tag = record[:-1], record[-1]
        self.top, self.width = top, width
        self.cells = width + len(expect)  # the fields, then one cell per predicate
        self.expect = expect  # predicate cell -> the value that makes it match
        self.where = where
        self.parser = where.parser
        self.max_rows = where.bounds.rows
        self.max_text = where.bounds.cell_bytes  # in characters: surely more bytes than that
        self.loose = where.bounds.loose  # in characters: surely fewer bytes than max_cell_bytes
        # Above and inside a record together: the records sit below their outer path.
        self.max_depth = where.bounds.depth - len(record) + 1
        self.batches = Batches(where.fields)
        self.rows = 0  # rows begun in the file, batched or not
        self.flat: list[str | None] = []  # the finished records' cells, row after row
        self.lines: list[int] = []  # the line of each row not yet batched
        self.outer: list[str] = []  # open elements above the records
        self.inside: list[_Step | None] = []  # open elements of the current record
        self.row: list[str | None] = [None] * self.cells
        self.capture: list[int] = []  # fields whose text is being read
        # Every text expat reports since the last start or end tag (the parser appends).
        self.parts: list[str] = []

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens: a record, a step inside one, or something above the records."""
        if self.capture:
            self._flush()  # only the text before the first child counts, as in `.text`
        elif parts := self.parts:
            if len(parts) > 1 or len(parts[0]) > self.max_text:
                self._measure_text()
            parts.clear()
        inside = self.inside
        if inside:
            parent = inside[-1]
            step = None if parent is None else parent.children.get(name)
            inside.append(step)
            if step is None:
                if len(inside) > self.max_depth:
                    self._refuse_depth()  # only an element the fields do not name goes on
            elif step.attributes or step.special:
                self._enter(step, attributes)
            elif (texts := step.texts) and len(texts) == 1 and self.row[texts[0]] is None:
                self.capture = texts  # _enter's commonest case, written out: no call
            elif texts:
                self._enter(step, attributes)
        elif name == self.tag and self.outer == self.outer_path:
            if self.rows >= self.max_rows:
                raise many_rows(self.where.file, self.parser, self.where.bounds)
            self.rows += 1
            self.lines.append(self.parser.CurrentLineNumber)
            inside.append(self.top)
            self._enter(self.top, attributes)
        else:
            self.outer.append(name)
            if len(self.outer) > self.where.bounds.depth:
                self._refuse_depth()

    def end(self, name: str) -> None:
        """An element closes; a closing record moves its cells to the finished ones."""
        if capture := self.capture:
            parts = self.parts
            if len(capture) == 1 and len(parts) == 1 and not self.expect:
                text = parts[0]  # _flush's commonest case, written out: no call
                if len(text) > self.loose:
                    self._check_text(capture[0], text)
                self.row[capture[0]] = text
                self.capture = []
                parts.clear()
            else:
                self._flush()
        elif parts := self.parts:
            if len(parts) > 1 or len(parts[0]) > self.max_text:
                self._measure_text()
            parts.clear()
        inside = self.inside
        if not inside:
            self.outer.pop()
            return
        step = inside.pop()
        if self.expect and step is not None and step.scopes:
            self._close_scopes(step)
        if not inside:
            self.flat.extend(self.row)
            self.row = [None] * self.cells

    def after_block(self) -> None:
        """Between two blocks: a text running on is measured, finished rows are batched."""
        if self.parts:
            self._measure_text()
        if len(self.lines) >= BATCH_ROWS:
            self._batch()

    def frame(self) -> pl.DataFrame:
        """Every row read, as text columns and their lines (call once the file has ended)."""
        self._batch()
        return self.batches.frame()

    def seen(self) -> list[bool]:
        """Which field paths occurred at least once (with a value) in the file."""
        return self.batches.valued

    def _batch(self) -> None:
        """The finished rows to a frame; a record still open stays."""
        done = len(self.flat) // self.cells
        if done == 0 and self.batches.frames:
            return
        flat, cells = self.flat, self.cells
        columns = [flat[i : done * cells : cells] for i in range(self.width)]
        del flat[: done * cells]
        self.batches.add(columns, self.lines[:done])
        del self.lines[:done]

    def _text_before_tag(self) -> None:
        """What start and end do first (inlined there): a field's text read, others measured."""
        if self.capture:
            self._flush()
        elif parts := self.parts:
            if len(parts) > 1 or len(parts[0]) > self.max_text:
                self._measure_text()
            parts.clear()

    def _measure_text(self) -> None:
        """_LongText when the text reported since the last tag passed `max_cell_bytes`."""
        if sum(map(len, self.parts)) > self.max_text:
            raise _LongText

    def text(self, data: str) -> None:
        """The exact reading's text handler: refuses a text the moment it passes the bound."""
        parts = self.parts
        parts.append(data)
        if sum(map(len, parts)) > self.max_text:
            self._refuse_text()

    def _refuse_depth(self) -> None:
        what = f"elements nested more than {self.where.bounds.depth} deep"
        raise refused(self.where.file, self.parser, what)

    def _refuse_text(self) -> None:
        """A text node passed `max_cell_bytes` while streaming: refused before it is kept."""
        if self.capture:
            where = self.where.field(self.capture[0])
        elif self.inside:
            where = f"an element in {self.where.record}"
        else:
            where = "/".join(n.rsplit("}", 1)[-1] for n in self.outer) or "the document"
        raise too_long(self.where.file, self.parser, self.where.bounds, f"the text of {where}")

    def _enter(self, step: _Step, attributes: dict[str, str]) -> None:
        row = self.row
        if step.special:
            self._enter_special(step, attributes)
        for index, attribute in step.attributes:
            if row[index] is None:
                value = attributes.get(attribute)
                if value is not None and len(value) > self.loose:
                    self._check_value(index, value, "value")
                row[index] = value
        if texts := step.texts:
            if len(texts) > 1:
                self.capture = [i for i in texts if row[i] is None]
            elif row[texts[0]] is None:
                self.capture = texts  # never changed: capture is replaced, not edited

    def _enter_special(self, step: _Step, attributes: dict[str, str]) -> None:
        """A predicated step opens a scope; a position() field takes its number."""
        row = self.row
        for scope in step.scopes:
            row[scope.slot] = None
            if scope.attribute is not None and attributes.get(scope.attribute) == scope.wanted:
                row[scope.slot] = scope.wanted
            scope.pending = [i for i in scope.fields if row[i] is None]
        for index in step.positions:
            if row[index] is None:
                row[index] = str(self._position(step))

    def _position(self, step: _Step) -> int:
        """position() of the record: its number in the file."""
        return self.rows

    def _close_scopes(self, step: _Step) -> None:
        """A predicated element closes: what was read through a predicate stays if it matched."""
        row = self.row
        for scope in step.scopes:
            if row[scope.slot] is None:
                for index in scope.pending:
                    row[index] = None
            row[scope.slot] = None

    def _check_value(self, index: int, value: str, kind: str) -> None:
        """ParseError when a text or value read into field `index` passes `max_cell_bytes`."""
        where = self.where
        if where.bounds.over(value):
            refusal = f"the {kind} of {where.field(index)}"
            raise too_long(where.file, self.parser, where.bounds, refusal)

    def _check_text(self, index: int, value: str) -> None:
        """_check_value for a text read; one of more characters than the bound: _LongText."""
        if len(value) > self.max_text:
            raise _LongText
        self._check_value(index, value, "text")

    def _flush(self) -> None:
        value = "".join(self.parts)
        if len(value) > self.loose:
            self._check_text(self.capture[0], value)
        row = self.row
        for index in self.capture:
            row[index] = value
        if self.expect:
            # A predicate's child that does not match leaves its cell open for the next one:
            # `[PARTY_ROLE='delivery']` holds when any PARTY_ROLE says so.
            for index in self.capture:
                if index in self.expect and value.strip() != self.expect[index]:
                    row[index] = None
        self.capture = []
        self.parts.clear()


class _FlatRecords(_Records):
    """The handlers when every field is on the record or a child of it, read plainly.

    No predicate, no position(), no repeat, no grandchild: the element's depth in the record
    and one look-up among the record's children say all there is to read, where the general
    handlers keep a stack of steps. The same checks at the same points as theirs, so the
    rows and every refusal are theirs (tests/read/formats/test_xml_flat.py reads through both).
    """

    def __init__(
        self, record: list[str], top: _Step, width: int, expect: dict[int, str], where: _Where
    ) -> None:
        super().__init__(record, top, width, expect, where)
        self.children = top.children
        self.depth = 0  # open elements of the current record, itself counted; 0: outside
        for step in (top, *top.children.values()):
            if len(step.attributes) == 1 and not step.texts:
                step.lone = step.attributes[0]
            step.plain = len(step.texts) == 1 and not step.attributes

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens: a record, a child of one (read), deeper (not), or above the records."""
        if self.capture:
            self._flush()  # only the text before the first child counts, as in `.text`
        elif parts := self.parts:
            if len(parts) > 1 or len(parts[0]) > self.max_text:
                self._measure_text()
            parts.clear()
        depth = self.depth
        if depth:
            self.depth = depth = depth + 1
            step = self.children.get(name) if depth == 2 else None
            if step is None:
                if depth > self.max_depth:
                    self._refuse_depth()
            elif step.plain:
                if self.row[step.texts[0]] is None:
                    self.capture = step.texts  # never changed: capture is replaced, not edited
            elif step.lone is not None:
                self._lone(step.lone, attributes)
            elif step.attributes or step.texts:
                self._enter(step, attributes)
        elif name == self.tag and self.outer == self.outer_path:
            if self.rows >= self.max_rows:
                raise many_rows(self.where.file, self.parser, self.where.bounds)
            self.rows += 1
            self.lines.append(self.parser.CurrentLineNumber)
            self.depth = 1
            if (lone := self.top.lone) is not None:
                self._lone(lone, attributes)
            else:
                self._enter(self.top, attributes)
        else:
            self.outer.append(name)
            if len(self.outer) > self.where.bounds.depth:
                self._refuse_depth()

    def plain_feed(self, head: bytes, encoding: str | None) -> Feed | None:
        """The feed that reads plain records without handlers (etl.read.formats.xml_plain),
        or None when the file is not UTF-8 or the records could nest too deep for a run."""
        if not utf8(head, encoding) or "}" in self.tag or self.max_depth < 2:
            return None
        own: dict[str, tuple[int, ...]] = {}
        for index, attribute in self.top.attributes:
            own[attribute] = (*own.get(attribute, ()), index)
        children = {
            name: Child(tuple(step.texts), tuple(step.attributes))
            for name, step in self.children.items()
        }
        plain = Plain(self.tag, own, children, self.width, self.loose)
        return Feed(self.parser, self, plain)

    def between_records(self) -> bool:
        """Whether the handlers stand where a record may start, nothing of one open."""
        return not self.depth and self.outer == self.outer_path

    def room(self) -> int:
        """Rows that may still be read before `format.max_rows` refuses the file."""
        return self.max_rows - self.rows

    def begin_run(self) -> None:
        """The text before a run's first record, as `start` takes it; then no handlers."""
        self._text_before_tag()
        parser = self.parser
        parser.StartElementHandler = None
        parser.EndElementHandler = None
        parser.CharacterDataHandler = None

    def end_run(self, run: Run) -> None:
        """The handlers back, and a plain run's rows as they would have read them."""
        parser = self.parser
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.parts.append
        self.rows += len(run.lines)
        self.lines.extend(run.lines)
        self.flat.extend(run.cells)

    def _lone(self, lone: tuple[int, str], attributes: dict[str, str]) -> None:
        """_enter for a step that reads one attribute and nothing else, written out."""
        index, attribute = lone
        if self.row[index] is None:
            value = attributes.get(attribute)
            if value is not None and len(value) > self.loose:
                self._check_value(index, value, "value")
            self.row[index] = value

    def end(self, name: str) -> None:
        """An element closes; a closing record moves its cells to the finished ones."""
        if capture := self.capture:
            parts = self.parts
            if len(capture) == 1 and len(parts) == 1:
                text = parts[0]
                if len(text) > self.loose:
                    self._check_text(capture[0], text)
                self.row[capture[0]] = text
                self.capture = []
                parts.clear()
            else:
                self._flush()
        elif parts := self.parts:
            if len(parts) > 1 or len(parts[0]) > self.max_text:
                self._measure_text()
            parts.clear()
        depth = self.depth
        if depth == 1:
            self.flat.extend(self.row)
            self.row = [None] * self.cells
        elif not depth:
            self.outer.pop()
            return
        self.depth = depth - 1


class _RepeatedRecords(_Records):
    """The handlers with `format.repeat`: one row per occurrence of the repeat element."""

    def __init__(
        self,
        record: list[str],
        top: _Step,
        width: int,
        expect: dict[int, str],
        where: _Where,
        repeat: _Step,
        empty_row: bool,
    ) -> None:
        super().__init__(record, top, width, expect, where)
        self.repeat = repeat  # its identity marks the occurrences: same tree position
        self.repeated = [i for i in _indices(repeat) if i < width]
        self.own = sorted(set(range(width)) - set(self.repeated))
        self.empty_row = empty_row
        self.record_line = 0
        self.records = 0  # records begun so far: position() of the record
        self.occurrences = 0  # in the current record
        # A row's repeated cells are known before its record's own: a buffer per field.
        self.buffers: list[list[str | None]] = [[] for _ in range(width)]
        self.valued = [False] * width  # read in a record, even one that gave no row

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens; an occurrence of the repeat element starts a row at its line."""
        self._text_before_tag()
        inside = self.inside
        if inside:
            parent = inside[-1]
            step = None if parent is None else parent.children.get(name)
            inside.append(step)
            if step is self.repeat:
                self._count_row()
                self.lines.append(self.parser.CurrentLineNumber)
                self.occurrences += 1
            if step is not None:
                self._enter(step, attributes)
            elif len(inside) > self.max_depth:
                self._refuse_depth()
        elif name == self.tag and self.outer == self.outer_path:
            self.record_line = self.parser.CurrentLineNumber
            self.records += 1
            inside.append(self.top)
            self._enter(self.top, attributes)
        else:
            self.outer.append(name)
            if len(self.outer) > self.where.bounds.depth:
                self._refuse_depth()

    def end(self, name: str) -> None:
        """An element closes: an occurrence's values go out now, the record's at its end."""
        self._text_before_tag()
        inside = self.inside
        if not inside:
            self.outer.pop()
            return
        step = inside.pop()
        if self.expect and step is not None and step.scopes:
            self._close_scopes(step)
        if step is self.repeat:
            self._close_occurrence()
        if not inside:
            self._close_record()

    def _position(self, step: _Step) -> int:
        """position() of the repeat element within its record, or of the record in the file."""
        return self.occurrences if step is self.repeat else self.records

    def seen(self) -> list[bool]:
        """Which field paths occurred at least once (with a value) in the file."""
        return self.valued

    def _batch(self) -> None:
        """The rows whose every cell is known to a frame (the record's own come at its end)."""
        done = min(len(b) for b in self.buffers) if self.buffers else len(self.lines)
        if done == 0 and self.batches.frames:
            return
        self.batches.add([b[:done] for b in self.buffers], self.lines[:done])
        for buffer in self.buffers:
            del buffer[:done]
        del self.lines[:done]

    def _count_row(self) -> None:
        """ParseError when one more row would pass `format.max_rows`."""
        if self.rows >= self.max_rows:
            raise many_rows(self.where.file, self.parser, self.where.bounds)
        self.rows += 1

    def _close_occurrence(self) -> None:
        """One row's repeated values to their buffers; the record's come at its end."""
        row, buffers, seen = self.row, self.buffers, self.valued
        for index in self.repeated:
            value = row[index]
            buffers[index].append(value)
            if value is not None:
                seen[index] = True
                row[index] = None  # the next occurrence starts empty

    def _close_record(self) -> None:
        """The record's own values, once for each of its rows."""
        rows = self.occurrences
        if not rows and self.empty_row:
            self._count_row()
            self.lines.append(self.record_line)
            self._close_occurrence()  # nothing was read below the repeat: all empty
            rows = 1
        row, buffers, seen = self.row, self.buffers, self.valued
        for index in self.own:
            value = row[index]
            buffers[index].extend(itertools.repeat(value, rows))
            if value is not None:
                seen[index] = True  # read in a record, even a skipped one: not "absent"
        self.row = [None] * self.cells
        self.occurrences = 0


def _flat(top: _Step) -> bool:
    """Whether every field is an attribute of the record or the text or an attribute of a
    child, with no predicate or position() (the reading _FlatRecords does)."""
    steps = [top, *top.children.values()]
    return not (top.texts or any(s.special for s in steps) or any(s.children for s in steps[1:]))


def _steps(fields: list[str], namespaces: dict[str, str]) -> tuple[_Step, dict[int, str]]:
    """The field paths as a tree of element steps below the record, and the predicate cells.

    Each predicated step gets a cell after the fields' cells (the value it waits for is in
    the returned map); a child-text predicate reads that child's text into the cell.
    """
    top, expect = _Step(), dict[int, str]()
    scopes: dict[tuple[int, Predicate], _Scope] = {}
    width = len(fields)
    for index, path in enumerate(fields):
        parsed = parse_field(path)
        step = top
        for s in parsed.steps:
            step = step.children.setdefault(_name(s.name, namespaces), _Step())
            if s.predicate is not None:
                scope = scopes.get((id(step), s.predicate))
                if scope is None:
                    scope = _scope(step, s.predicate, width + len(expect), namespaces)
                    scopes[(id(step), s.predicate)] = scope
                    expect[scope.slot] = scope.wanted
                scope.fields.append(index)
        if parsed.attribute:
            step.attributes.append((index, _name(parsed.attribute, namespaces)))
        elif parsed.position:
            step.positions.append(index)
            step.special = True
        else:
            step.texts.append(index)
    return top, expect


def _scope(step: _Step, test: Predicate, slot: int, namespaces: dict[str, str]) -> _Scope:
    """A new predicate on `step`; a child-text predicate reads that child into its cell."""
    attribute = _name(test.name, namespaces) if test.attribute else None
    scope = _Scope(slot, attribute, test.value)
    step.scopes.append(scope)
    step.special = True
    if attribute is None:
        step.children.setdefault(_name(test.name, namespaces), _Step()).texts.append(slot)
    return scope


def _step(top: _Step, element_path: str, namespaces: dict[str, str]) -> _Step:
    """The step at `element_path` below `top`, created with the steps above it if new."""
    step = top
    for name in (s for s in element_path.split("/") if s not in ("", ".")):
        step = step.children.setdefault(_name(name, namespaces), _Step())
    return step


def _indices(step: _Step) -> list[int]:
    """Every field (and predicate cell) read at `step` or below it."""
    found = step.texts + step.positions + [index for index, _ in step.attributes]
    for child in step.children.values():
        found += _indices(child)
    return sorted(found)


def _name(step: str, namespaces: dict[str, str]) -> str:
    """`ns:Item` -> `uri}Item`, the way expat names namespaced elements and attributes."""
    if ":" not in step:
        return step
    prefix, local = step.split(":", 1)
    if prefix not in namespaces:
        raise ParseError(f"namespace prefix {prefix!r} is not declared in the contract")
    return f"{namespaces[prefix]}}}{local}"

"""Bounds on an XML file's shape, checked while expat streams it.

expat reads a file of any size in constant memory, but what it hands over, and what it
keeps, follows the file's shape: a text node of 300 MB arrives in pieces and is joined
into one value, a start tag is held whole until its `>` (a megabyte attribute, a million
attributes), every distinct element and attribute name is kept for the whole parse, and
every open element costs a frame of its own (expat has no depth limit). A broken export
job writes exactly these shapes, so each is refused as the whole file, while streaming,
at the line and column where it was found:
- a text node of more characters than `format.max_cell_bytes` (any text, read or not: as
  soon as it passes); a text or attribute value read as a field of more UTF-8 bytes than it;
- markup (a start tag with its attributes, a comment) expat holds unfinished past
  `format.max_cell_bytes` at the end of a block: checked once per block read, so a tag is
  refused for sure once it passes the bound by a block (1 MiB), never below the bound;
- more distinct element and attribute names than `format.max_columns` (expat keeps them all;
  counted once per block, so refused where the block that passed it ends);
- elements nested deeper than MAX_DEPTH (as the element opens);
- more rows than `format.max_rows`; for XML it is 2,000,000 unless the contract says
  otherwise (the rows become a frame a batch at a time, etl.read.formats.xml_batches, but
  the frame of the whole file is still held).

The reader (etl.read.formats.xml) and the check made while a `.xml.gz` or `.zip` is expanded
(`Shape`, see etl.read.formats.compressed) apply the same bounds, so a bomb in an archive is
refused before more of it is written to disk; not knowing the fields, the check leaves the
values read to the reader and counts as rows only the record (or repeat) elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from xml.parsers import expat

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml_doctype import PROLOG_BYTES, blank_external_doctype

BLOCK = 1 << 20  # bytes handed to expat at a time
MAX_DEPTH = 256  # no ERP export nests this deep; expat itself would go on to exhaust memory
XML_MAX_ROWS = 2_000_000  # format.max_rows for XML when the contract leaves it out


@dataclass(frozen=True)
class Bounds:
    """The contract's bounds as the XML readers apply them."""

    cell_bytes: int
    rows: int
    names: int
    depth: int = MAX_DEPTH

    @classmethod
    def of(cls, fmt: FormatSpec) -> Bounds:
        """`format.max_cell_bytes`, `max_rows` (XML's own default) and `max_columns`."""
        rows = fmt.max_rows if "max_rows" in fmt.model_fields_set else XML_MAX_ROWS
        return cls(fmt.max_cell_bytes, rows, fmt.max_columns)

    @property
    def loose(self) -> int:
        """Characters below which a text is surely within `cell_bytes` (UTF-8: 4 bytes at most)."""
        return self.cell_bytes // 4

    def over(self, text: str) -> bool:
        """Whether `text` takes more than `cell_bytes` in UTF-8."""
        return len(text) > self.loose and len(text.encode()) > self.cell_bytes


_NO_ENTITIES = (
    ": an entity reference (&name;) other than &amp; &lt; &gt; &quot; &apos; or a character "
    "reference (&#228;); entities are never read from a DTD"
)


class Doctype(Exception):
    """Raised inside expat the moment a DOCTYPE or entity declaration starts; says why."""


_NO_DTD = "DOCTYPE and entity declarations are not allowed"


def _refuse_doctype(
    _name: str, system_id: str | None, public_id: str | None, internal_subset: int
) -> None:
    if (system_id or public_id) and not internal_subset:
        raise Doctype(
            "a DOCTYPE is not allowed: one that only names an external DTD, as every BMEcat "
            'file starts with, is taken (and the DTD never read) with format.doctype = "external_dtd"'
        )
    raise Doctype(_NO_DTD)


def _refuse_unread_doctype(*_: object) -> None:
    # format.doctype = "external_dtd" blanks the DOCTYPEs it takes before expat reads them.
    raise Doctype(
        'a DOCTYPE format.doctype = "external_dtd" does not take: only one with a name and a '
        "PUBLIC or SYSTEM id, no internal subset, in the file's first 64 KiB before the root "
        "element, is taken"
    )


def _refuse_entity(*_: object) -> None:
    raise Doctype(_NO_DTD)


def hardened_parser(encoding: str | None, doctype: str = "refuse") -> expat.XMLParserType:
    """An expat parser that refuses any DOCTYPE or entity declaration and reads no DTD.

    `doctype` is the contract's format.doctype: it only changes what a refusal says.
    """
    parser = expat.ParserCreate(encoding, namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    refuse = _refuse_doctype if doctype == "refuse" else _refuse_unread_doctype
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = _refuse_entity
    return parser


@contextmanager
def parse_errors(file: str, parser: expat.XMLParserType) -> Iterator[None]:
    """expat's errors, and a DOCTYPE, as the ParseError that rejects `file`."""
    try:
        yield
    except expat.ExpatError as exc:
        reason = expat.errors.messages[exc.code]
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]:
            reason += _NO_ENTITIES
        raise ParseError(
            f"{file}: not well-formed XML: {reason} (column {exc.offset + 1})",
            line=exc.lineno,
        ) from exc
    except Doctype as exc:
        where = "" if str(exc) == _NO_DTD else f" (column {parser.CurrentColumnNumber + 1})"
        raise ParseError(f"{file}: {exc}{where}", line=parser.CurrentLineNumber) from exc


def refused(file: str, parser: expat.XMLParserType, what: str) -> ParseError:
    """The ParseError for a shape over a bound, at expat's current line and column."""
    return ParseError(
        f"{file}: {what}: refused as a broken export (column {parser.CurrentColumnNumber + 1})",
        line=parser.CurrentLineNumber,
    )


def check_block(file: str, parser: expat.XMLParserType, bounds: Bounds, fed: int) -> None:
    """After a block, and at the end: ParseError when what expat holds or names passed a bound.

    `fed` is the bytes given to expat so far; where it stands is where its last token
    ended, so the difference is a token it holds unfinished.
    """
    if fed - max(parser.CurrentByteIndex, 0) > bounds.cell_bytes:
        raise refused(
            file,
            parser,
            f"a tag or comment longer than {bounds.cell_bytes:,} bytes (format.max_cell_bytes)",
        )
    if len(parser.intern) > bounds.names:
        raise refused(
            file,
            parser,
            f"more than {bounds.names:,} distinct element and attribute names (format.max_columns)",
        )


def too_long(file: str, parser: expat.XMLParserType, bounds: Bounds, subject: str) -> ParseError:
    """The refusal of a text or value (`subject`, "the text of A/B") over `max_cell_bytes`."""
    return refused(
        file,
        parser,
        f"{subject} is longer than {bounds.cell_bytes:,} bytes (format.max_cell_bytes)",
    )


def many_rows(file: str, parser: expat.XMLParserType, bounds: Bounds) -> ParseError:
    """The refusal of the row past `format.max_rows`."""
    return refused(file, parser, f"more than {bounds.rows:,} rows (format.max_rows)")


class Shape:
    """Feeds a file's blocks to expat only to apply the bounds: nothing is kept.

    Used while an archive is expanded, before each block is written. Rows are the
    elements at `rows_at` (the record path, or record and repeat): a lower bound on the
    reader's rows, so whatever this refuses, the reader would too.
    """

    def __init__(
        self,
        file: str,
        encoding: str | None,
        bounds: Bounds,
        rows_at: list[str],
        doctype: str = "refuse",
    ):
        self.file, self.bounds, self.rows_at = file, bounds, rows_at
        self.parser = hardened_parser(encoding, doctype)
        # format.doctype = "external_dtd": the file's first bytes, gathered until the
        # DOCTYPE can be looked for in them as the reader does (see etl.read.formats.xml_doctype).
        self.head: bytes | None = b"" if doctype == "external_dtd" else None
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.open: list[str] = []
        self.rows = 0
        self.run = 0  # characters of the current text node
        self.fed = 0

    def feed(self, block: bytes, final: bool = False) -> None:
        """Parse `block`; ParseError when the file so far passes a bound or is not XML."""
        if self.head is not None:
            self.head += block
            if len(self.head) < PROLOG_BYTES and not final:
                return
            block, self.head = blank_external_doctype(self.head, self.file), None
        with parse_errors(self.file, self.parser):
            self.parser.Parse(block, final)
        self.fed += len(block)
        check_block(self.file, self.parser, self.bounds, self.fed)

    def _start(self, name: str, _: dict[str, str]) -> None:
        self.run = 0
        self.open.append(name)
        if len(self.open) > self.bounds.depth:
            raise refused(
                self.file, self.parser, f"elements nested more than {self.bounds.depth} deep"
            )
        if self.open == self.rows_at:
            self.rows += 1
            if self.rows > self.bounds.rows:
                raise many_rows(self.file, self.parser, self.bounds)

    def _end(self, _: str) -> None:
        self.run = 0
        self.open.pop()

    def _text(self, data: str) -> None:
        # Characters, not bytes: a text is never held here, and one of more characters than
        # the bound has more bytes too (the reader measures the texts it keeps exactly).
        self.run += len(data)
        if self.run > self.bounds.cell_bytes:
            where = "/".join(n.rsplit("}", 1)[-1] for n in self.open)
            raise too_long(self.file, self.parser, self.bounds, f"the text of {where}")

"""A DOCTYPE that only names an external DTD (BMEcat), taken by contract and never read.

`format.doctype = "external_dtd"`. Given a DOCTYPE with a system id, expat reads the
document as one whose entities may be declared in that DTD: without reading it, it drops a
reference to an undeclared entity from an attribute value without a word (`type="A&x;"`
reads `A`). So the declaration never reaches expat: it is checked here (a name, at most a
PUBLIC or SYSTEM id, no internal subset `[...]`, nothing but the XML declaration, comments
and processing instructions before it) and blanked out with spaces, line breaks kept, so
every later byte, line and column stays where it was. expat then reads a document without
a DOCTYPE: nothing is fetched or opened, and an entity reference, in text or attribute
alike, is refused as undefined. A DOCTYPE this does not take still reaches expat, which
refuses it (etl.read.formats.xml_bounds).

The file's bytes are read as Latin-1 (one character a byte: the markup is ASCII in UTF-8
and every single-byte code page) or, after a UTF-16 byte-order mark or a `<` of two bytes,
as UTF-16.
"""

from __future__ import annotations

import codecs
import re

from etl.errors import ParseError

PROLOG_BYTES = 64 * 1024  # the DOCTYPE is looked for in the file's first bytes only

_BEFORE = re.compile(
    r"\A(?:<\?xml\s[^>]*\?>)?(?:\s+|<!--.*?-->|<\?(?!xml[\s?]).*?\?>)*(?=<!DOCTYPE)", re.S
)
_LITERAL = r"""(?:"[^"]*"|'[^']*')"""
_DECLARATION = re.compile(
    rf"<!DOCTYPE\s+[^\s\[>]+(?:\s+SYSTEM\s+{_LITERAL}|\s+PUBLIC\s+{_LITERAL}\s+{_LITERAL})?"
    r"\s*([\[>])"
)


def blank_external_doctype(head: bytes, file: str) -> bytes:
    """`head` (the file's first bytes) with a DOCTYPE naming only an external DTD blanked.

    ParseError, at its line and column, for a DOCTYPE with an internal subset; any other
    head is returned as it is, for expat to read (and refuse a DOCTYPE in).
    """
    bom, codec = _codec(head)
    # Not final: a character cut at the end of the bytes looked at is left out.
    decoder = codecs.getincrementaldecoder(codec)(errors="surrogatepass")
    text = decoder.decode(head[len(bom) : PROLOG_BYTES])
    before = _BEFORE.match(text)
    if before is None:
        return head
    declaration = _DECLARATION.match(text, before.end())
    if declaration is None:
        return head
    if declaration.group(1) == "[":
        line, column = _position(text, declaration.start(1))
        raise ParseError(
            f"{file}: an internal DTD subset ([...] in the DOCTYPE) is not allowed, not even "
            f'with format.doctype = "external_dtd": entities are never declared (column {column})',
            line=line,
        )
    start, end = before.end(), declaration.end()
    blank = "".join(c if c in "\r\n" else " " * _units(c, codec) for c in text[start:end])
    kept = _encoded(text[:start], codec) + _encoded(blank, codec)
    return bom + kept + head[len(bom) + len(_encoded(text[:end], codec)) :]


def _codec(head: bytes) -> tuple[bytes, str]:
    """(byte-order mark, codec the markup is read in)."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return bom, codec
    if head.startswith(b"<\x00"):
        return b"", "utf-16-le"
    if head.startswith(b"\x00<"):
        return b"", "utf-16-be"
    return (b"\xef\xbb\xbf" if head.startswith(b"\xef\xbb\xbf") else b""), "latin-1"


def _encoded(text: str, codec: str) -> bytes:
    return text.encode(codec, errors="surrogatepass")


def _units(char: str, codec: str) -> int:
    """Spaces that take the bytes of `char` (UTF-16: a pair for a surrogate pair)."""
    return len(_encoded(char, codec)) // (2 if codec != "latin-1" else 1)


def _position(text: str, at: int) -> tuple[int, int]:
    """(line, column) of character `at`, both from 1, as expat counts them."""
    line_start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
    return text.count("\n", 0, at) + 1, at - line_start + 1

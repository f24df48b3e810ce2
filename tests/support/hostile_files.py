"""Hostile input files, made at test time: small on disk, huge once read.

Nothing here is committed as a big file. The large shapes are built from one compressed
block repeated: deflate output after a full flush is byte-aligned and refers to nothing
before it, so the same segment written n times expands to the same block n times, and a
gzip file may hold any number of members back to back. A 2 GiB expansion is thus written
in well under a second.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
_DEFLATE = 8
_XLSX_MEMBERS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
}
_SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_CLOSE = "</sheetData></worksheet>"
_HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c></row>'
_NO_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" '
    'uniqueCount="0"/>'
)


# ---- CSV ----


def csv_wide_header(path: Path, columns: int) -> Path:
    """A header of `columns` names and one data row: a few MB on disk."""
    names = ",".join(f"c{n}" for n in range(columns))
    path.write_text(f"{names}\n{','.join('1' * columns)}\n", encoding="utf-8")
    return path


def csv_blank_lines(path: Path, blank: int, columns: int = 2) -> Path:
    """Two data rows with `blank` empty lines between them: one byte each."""
    extra = "".join(f",c{n}" for n in range(2, columns))
    with path.open("wb") as out:
        out.write(f"sku,name{extra}\nA1,first{',' * (columns - 2)}\n".encode())
        for _ in range(blank // MIB):
            out.write(b"\n" * MIB)
        out.write(b"\n" * (blank % MIB) + f"A2,second{',' * (columns - 2)}\n".encode())
    return path


def csv_huge_keys(path: Path, rows: int, size: int) -> Path:
    """`rows` rows whose key is `size` bytes and name empty: each line under max_line_bytes.

    Every rejection of a row repeats its key, so the key is the costly place for a big cell.
    """
    with path.open("wb") as out:
        out.write(b"sku,name\n")
        for n in range(rows):
            out.write(b"K" * size + f"{n},\n".encode())
    return path


def gz_newlines(path: Path, expanded: int) -> Path:
    """A .csv.gz of a header and then `expanded` bytes of newlines, one gzip member per MiB."""
    member = gzip.compress(b"\n" * MIB, compresslevel=9, mtime=0)
    with path.open("wb") as out:
        out.write(gzip.compress(b"sku,name\nA1,first\n", mtime=0))
        for _ in range(expanded // MIB):
            out.write(member)
    return path


def zip_newlines(path: Path, expanded: int) -> Path:
    """A .zip of one CSV: a header and then `expanded` bytes of newlines (honest headers)."""
    _write_zip(path, [_repeated("products.csv", b"sku,name\nA1,first\n", b"\n", expanded, b"")])
    return path


# ---- XML ----

_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<Items>\n'


def xml_long_text(path: Path, size: int) -> Path:
    """One record whose <Name> is a text of `size` bytes: `size` on disk."""
    with path.open("wb") as out:
        out.write(_XML_HEAD + b'<Item sku="A1"><Name>')
        for _ in range(size // MIB):
            out.write(b"N" * MIB)
        out.write(b"</Name></Item>\n</Items>\n")
    return path


def xml_gz_long_text(path: Path, expanded: int) -> Path:
    """A .xml.gz of one record whose <Name> is `expanded` bytes, one gzip member per MiB."""
    member = gzip.compress(b"N" * MIB, compresslevel=9, mtime=0)
    with path.open("wb") as out:
        out.write(gzip.compress(_XML_HEAD + b'<Item sku="A1"><Name>', mtime=0))
        for _ in range(expanded // MIB):
            out.write(member)
        out.write(gzip.compress(b"</Name></Item>\n</Items>\n", mtime=0))
    return path


def xml_many_records(path: Path, records: int) -> Path:
    """`records` records of a one-character key, 16 bytes each; only the first has a name."""
    with path.open("wb") as out:
        out.write(_XML_HEAD + b'<Item sku="1"><Name>x</Name></Item>\n')
        line = b'<Item sku="1"/>\n'
        per = MIB // len(line)
        rest = records - 1
        for _ in range(rest // per):
            out.write(line * per)
        out.write(line * (rest % per) + b"</Items>\n")
    return path


def xml_long_attributes(path: Path, records: int, size: int) -> Path:
    """`records` records whose sku attribute is `size` bytes."""
    with path.open("wb") as out:
        out.write(_XML_HEAD)
        for n in range(records):
            out.write(b'<Item sku="' + b"K" * size + f'{n}"><Name>x</Name></Item>\n'.encode())
        out.write(b"</Items>\n")
    return path


def xml_distinct_names(path: Path, names: int) -> Path:
    """One record holding `names` empty elements, each of a name of its own."""
    with path.open("wb") as out:
        out.write(_XML_HEAD + b'<Item sku="A1"><Name>x</Name>')
        for start in range(0, names, 100_000):
            stop = min(start + 100_000, names)
            out.write("".join(f"<n{n}/>" for n in range(start, stop)).encode())
        out.write(b"</Item>\n</Items>\n")
    return path


def xml_deep(path: Path, depth: int) -> Path:
    """One record with `depth` nested <d> elements inside it: 3 bytes a level, never closed."""
    with path.open("wb") as out:
        out.write(_XML_HEAD + b'<Item sku="A1">')
        for _ in range(depth // (MIB // 3)):
            out.write(b"<d>" * (MIB // 3))
        out.write(b"<d>" * (depth % (MIB // 3)))
    return path


def xml_entity_bomb(path: Path) -> Path:
    """The billion laughs: a few hundred bytes of DTD that expand to gigabytes of text."""
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE Items [{entities}]>\n'
        '<Items><Item sku="A1"><Name>&l9;</Name></Item></Items>\n',
        encoding="utf-8",
    )
    return path


# ---- XLSX ----


def xlsx_shared_string(path: Path, size: int) -> Path:
    """A workbook whose one shared string is `size` bytes long: about size / 1000 on disk."""
    strings = _repeated(
        "xl/sharedStrings.xml",
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>',
        b"A",
        size,
        b"</t></si></sst>",
    )
    sheet = _sheet(_HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>')
    _write_zip(path, [*_fixed(), sheet, strings])
    return path


def xlsx_far_cell(path: Path, last: str) -> Path:
    """A two-cell sheet whose used range reaches cell `last` (say XFD8000)."""
    row = "".join(c for c in last if c.isdigit())
    sheet = _sheet(
        _HEADER_ROW + f'<row r="{row}"><c r="{last}" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    _write_zip(path, [*_fixed(), sheet, _member("xl/sharedStrings.xml", _NO_STRINGS)])
    return path


def xlsx_unplaced_cells(path: Path, cells: int) -> Path:
    """One row of `cells` cells with no r= attribute: calamine places each by counting."""
    cell = b"<c><v>1</v></c>"
    per = MIB // len(cell)
    sheet = _repeated(
        "xl/worksheets/sheet1.xml",
        (_SHEET_OPEN + _HEADER_ROW + '<row r="2">').encode(),
        cell * per,
        -(-cells // per) * per * len(cell),
        ("</row>" + _SHEET_CLOSE).encode(),
    )
    _write_zip(path, [*_fixed(), sheet, _member("xl/sharedStrings.xml", _NO_STRINGS)])
    return path


def xlsx_bomb(path: Path, expanded: int) -> Path:
    """A sheet padded with `expanded` bytes of spaces between its rows: a few MB on disk."""
    sheet = _repeated(
        "xl/worksheets/sheet1.xml",
        (_SHEET_OPEN + _HEADER_ROW).encode(),
        b" ",
        expanded,
        _SHEET_CLOSE.encode(),
    )
    _write_zip(path, [*_fixed(), sheet, _member("xl/sharedStrings.xml", _NO_STRINGS)])
    return path


# ---- a zip written by hand, so a member can be a repeated deflate segment ----


@dataclass(frozen=True)
class _Entry:
    name: str
    crc: int
    size: int
    chunks: Iterable[bytes]  # the raw deflate stream, in pieces
    compressed: int


def _member(name: str, text: str) -> _Entry:
    data = text.encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = packer.compress(data) + packer.flush()
    return _Entry(name, zlib.crc32(data), len(data), [raw], len(raw))


def _fixed() -> list[_Entry]:
    return [_member(name, text) for name, text in _XLSX_MEMBERS.items()]


def _sheet(rows: str) -> _Entry:
    return _member("xl/worksheets/sheet1.xml", _SHEET_OPEN + rows + _SHEET_CLOSE)


def _repeated(name: str, head: bytes, unit: bytes, total: int, tail: bytes) -> _Entry:
    """`head`, then `unit` repeated to `total` bytes (a whole number of MiB blocks), `tail`."""
    block = unit * (MIB // len(unit)) if len(unit) < MIB else unit
    count = max(1, total // len(block))
    segment = _flushed(block)
    start, end = _flushed(head), _finished(tail)
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + count * len(block) + len(tail)
    chunks = [start, *([segment] * count), end]
    return _Entry(name, crc, size, chunks, sum(len(c) for c in chunks))


def _flushed(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def _finished(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _write_zip(path: Path, entries: list[_Entry]) -> None:
    """A plain zip (no zip64: every size stays below 4 GiB) of deflated members."""
    central = b""
    with path.open("wb") as out:
        for entry in entries:
            offset = out.tell()
            name = entry.name.encode()
            out.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    20,
                    0,
                    _DEFLATE,
                    0,
                    0x21,
                    entry.crc,
                    entry.compressed,
                    entry.size,
                    len(name),
                    0,
                )
                + name
            )
            for chunk in entry.chunks:
                out.write(chunk)
            central += (
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    _DEFLATE,
                    0,
                    0x21,
                    entry.crc,
                    entry.compressed,
                    entry.size,
                    len(name),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + name
            )
        start = out.tell()
        out.write(central)
        out.write(
            struct.pack(
                "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0
            )
        )

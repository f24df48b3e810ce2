"""Rewrite one file with a person's values masked, atomically and keeping its mode.

One function per kind of file, each returning how many values it masked; with `write`
False nothing is written (a dry run counts the same way). A file is replaced by a temp
file in its folder, fsync'd and renamed, so a crash leaves the old or the new file, and
the new one keeps the old one's mode (0600 under the product's home).
"""

from __future__ import annotations

import codecs
import html
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from lxml import etree

from etl.privacy.masking import Masker
from etl.state.atomic import write_atomically

Rewriter = Callable[[Path, Masker, bool], int]


def replace_atomically(path: Path, body: bytes) -> None:
    """Put `body` in place of `path`: temp file, fsync, rename, with the old file's mode."""
    write_atomically(path, body, mode=path.stat().st_mode & 0o777)


def text_lines(path: Path, masker: Masker, write: bool) -> int:
    """CSV and other text: each record (a line, or a quoted cell's lines) on its own; the
    encoding and line ends are kept."""
    raw = path.read_bytes()
    encoding = _encoding(raw)
    text = raw.decode(encoding)
    if not masker.holds_anchor([text]):
        return 0
    records = csv_records(text.splitlines(keepends=True))
    total = 0
    for n, record in enumerate(records):
        masked, count = masker.mask(record, theirs=masker.holds_anchor([record]))
        records[n], total = masked, total + count
    if total and write:
        replace_atomically(path, "".join(records).encode(encoding))
    return total


def csv_records(lines: list[str]) -> list[str]:
    """`lines` joined into CSV records: a line break inside a quoted cell does not end one.

    A record is open while it holds an odd number of quotes (a doubled quote counts two).
    A quote never closed is no CSV (a note, a log line): those lines stay records each, so
    one stray quote cannot make the rest of a file one person's record.
    """
    records: list[str] = []
    open_lines: list[str] = []
    for line in lines:
        if open_lines:
            open_lines.append(line)
            if line.count('"') % 2:
                records.append("".join(open_lines))
                open_lines = []
        elif line.count('"') % 2:
            open_lines = [line]
        else:
            records.append(line)
    return records + open_lines


def json_file(path: Path, masker: Masker, write: bool) -> int:
    """JSON: each item of a list is a record; the rest of the document is one."""
    raw = path.read_bytes()
    if not masker.holds_anchor([raw.decode("utf-8", errors="replace")]):
        return 0
    masked, total = _json_record(json.loads(raw), masker)
    if total and write:
        replace_atomically(path, json.dumps(masked, indent=2, ensure_ascii=False).encode("utf-8"))
    return total


def _json_record(value: Any, masker: Masker) -> tuple[Any, int]:
    """Mask one record: theirs when its own texts (lists aside) name the person."""
    return _json_masked(value, masker, masker.holds_anchor(_own_texts(value)))


def _json_masked(value: Any, masker: Masker, theirs: bool) -> tuple[Any, int]:
    if isinstance(value, str):
        return masker.mask(value, theirs=theirs)
    if isinstance(value, dict):
        pairs = {k: _json_masked(v, masker, theirs) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    if isinstance(value, list):
        # An item of a list is a record of its own: another person's item keeps its values.
        items = [_json_record(v, masker) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def _own_texts(value: Any) -> list[str]:
    """The texts of a record, the lists in it (records of their own) left out."""
    if isinstance(value, dict):
        return [t for v in value.values() if not isinstance(v, list) for t in _own_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _own_texts(v)]
    return [str(value)] if isinstance(value, str | int) and not isinstance(value, bool) else []


def xml_file(path: Path, masker: Masker, write: bool) -> int:
    """XML: each outermost repeated element is a record; the rest of the document is one."""
    raw = path.read_bytes()
    if not masker.holds_anchor([raw.decode(_encoding(raw), errors="replace")]):
        return 0
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    tree = etree.parse(io.BytesIO(raw), parser)
    header, records = _xml_split(tree.getroot())
    total = _mask_elements(header, masker)
    for record in records:
        total += _mask_elements(list(record.iter()), masker)
    if total and write:
        encoding = tree.docinfo.encoding or "utf-8"
        body = etree.tostring(tree, xml_declaration=True, encoding=encoding)
        assert isinstance(body, bytes)  # an encoding was named: lxml returns bytes
        replace_atomically(path, body)
    return total


# A UBL order's (PEPPOL's) parties on the seller's side: the shop, a company, never the buyer,
# so a record of their own: the shop's city stays when the buyer lives there too.
SELLER_PARTIES = frozenset({"SellerSupplierParty", "AccountingSupplierParty"})


def _xml_split(element: Any) -> tuple[list[Any], list[Any]]:
    """The document's own elements (its header), and its records: the outermost elements
    repeated among their siblings, at any depth, and the seller's parties.

    `<Export><Header/><Customers><Customer/><Customer/></Customers></Export>`: each Customer
    is a record, so another customer's shared values stay whatever wraps them. One walk that
    stops at a record: lxml makes a new proxy object for an element each time one is asked
    for, so telling elements apart by `id()` of proxies already freed mixes them up.
    """
    header, records = [element], []
    tags = Counter(child.tag for child in element if isinstance(child.tag, str))
    for child in element:
        if not isinstance(child.tag, str):
            header.append(child)  # a comment or processing instruction: its tail is text
        elif tags[child.tag] > 1 or etree.QName(child).localname in SELLER_PARTIES:
            records.append(child)
        else:
            inner_header, inner_records = _xml_split(child)
            header.extend(inner_header)
            records.extend(inner_records)
    return header, records


def _mask_elements(nodes: list[Any], masker: Masker) -> int:
    """Mask one record's texts, tails and attribute values; theirs when one names the person.

    A comment or processing instruction keeps its own text; the text after it (its tail,
    `<Name><!-- x -->Eva</Name>`) is the record's like any other.
    """
    elements = [e for e in nodes if isinstance(e.tag, str)]
    texts = [t for e in elements for t in (e.text, *e.attrib.values()) if t]
    texts += [n.tail for n in nodes if n.tail]
    theirs = masker.holds_anchor(texts)
    total = 0
    for node in nodes:
        is_element = isinstance(node.tag, str)
        if is_element:
            for name, value in node.attrib.items():
                node.attrib[name], n = masker.mask(value, theirs=theirs)
                total += n
        for part in ("text", "tail") if is_element else ("tail",):
            value = getattr(node, part)
            if value:
                masked, n = masker.mask(value, theirs=theirs)
                setattr(node, part, masked)
                total += n
    return total


def xlsx_file(path: Path, masker: Masker, write: bool) -> int:
    """XLSX (reports, inputs): each row of each sheet is a record; text and whole numbers.

    openpyxl does not keep a formula's cached value: a rewritten workbook's formulas are
    computed again when it is opened in a spreadsheet program (readers of values see none).
    """
    if not _xlsx_may_hold(path, masker):
        return 0  # opening a large workbook takes long; most do not name the person
    import openpyxl  # here, not at the top: every command's start imported it for `forget`

    book = openpyxl.load_workbook(path)
    total = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            texts = [_cell_text(c.value) for c in row]
            masked, n = masker.mask_record(texts)
            for cell, old, new in zip(row, texts, masked, strict=True):
                if new is not None and new != old:
                    cell.value = new  # a masked number becomes text: `[erased]`
            total += n
    if total and write:
        buffer = io.BytesIO()
        book.save(buffer)
        replace_atomically(path, buffer.getvalue())
    book.close()
    return total


def _cell_text(value: object) -> str | None:
    """A cell as the text a person's value can stand in: a phone number typed as a number too.

    A formula (`=E2*2`) is left alone: it holds no value of its own.
    """
    if isinstance(value, str):
        return None if value.startswith("=") else value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _xlsx_may_hold(path: Path, masker: Masker) -> bool:
    """Whether the workbook's XML parts (shared strings, sheets) hold an anchor at all."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = [n for n in archive.namelist() if n.startswith("xl/") and n.endswith(".xml")]
            texts = (archive.read(n).decode("utf-8", errors="replace") for n in parts)
            return masker.holds_anchor(html.unescape(t) for t in texts)
    except zipfile.BadZipFile:
        return False


def parquet_file(path: Path, masker: Masker, write: bool, keep: tuple[str, ...] = ()) -> int:
    """Parquet (snapshots, deltas): each row is a record; the `keep` columns stay as they are.

    A snapshot keeps its key, so the person's row still exists: the next file without them
    is no second removal, and a file with them again is a change, as the ERP says.
    """
    frame = pl.read_parquet(path, glob=False)
    texts = [c for c, t in frame.schema.items() if t == pl.String and c not in keep]
    if not texts or frame.is_empty():
        return 0
    anchors = [a.casefold() for a in masker.person.anchors]
    look = pl.any_horizontal(
        pl.col(c).str.to_lowercase().str.contains_any(anchors, ascii_case_insensitive=True)
        for c in frame.columns
        if frame.schema[c] == pl.String
    )
    indexed = frame.with_row_index("__row")
    hits = indexed.filter(look)
    if hits.is_empty():
        return 0
    rows, total = [], 0
    for row in hits.iter_rows(named=True):
        theirs = masker.holds_anchor(str(v) for v in row.values() if isinstance(v, str))
        for column in texts:
            if isinstance(row[column], str):
                row[column], n = masker.mask(row[column], theirs=theirs)
                total += n
        rows.append(row)
    if total and write:
        masked = pl.DataFrame(rows, schema=indexed.schema)
        merged = indexed.update(masked, on="__row").drop("__row")
        buffer = io.BytesIO()
        merged.write_parquet(buffer, compression="lz4", statistics=False)
        replace_atomically(path, buffer.getvalue())
    return total


def _encoding(raw: bytes) -> str:
    """UTF-16 by its BOM; UTF-8 (its BOM kept) when the bytes are UTF-8; else Windows-1252."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"

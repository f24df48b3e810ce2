"""The records of a file as they were written, looked up by source line for the reports.

Only rejected lines are asked for, so this is a second, streaming pass that the normal read
never pays for: the file is read block by block, lines before a wanted one are counted in
its bytes and dropped undecoded, and reading stops once the last wanted record has been
read. Each wanted line is a record start (the readers number records that way), so every
record is read on its own from its first line:
- CSV: the csv module says where the record ends, so a quoted newline keeps the whole
  record together; the text is decoded with the codec the reader chose (text.codec_for).
  A file whose lines end in CR alone (classic Mac) is read with every CR as an LF, as the
  reader reads it, so its lines are found by the same numbers.
- XML: the record element (with `repeat`, the repeated element a row comes from) from its
  start tag to its end tag, whole lines, found by a small expat parser fed only those lines.
- XLSX: the row's cells as calamine reads them, joined with " | ".
A .gz or .zip is expanded first, with the same rules and limits as for reading.

Text is cut at RAW_LIMIT characters with a marker: a report cell is for reading, and a
hostile 100 MB line must not be copied into it. Bytes that do not decode are shown as
U+FFFD, so an encoding error's line can still be shown.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import itertools
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

import fastexcel

from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.errors import FileRejected
from etl.models import Part
from etl.read.formats.compressed import expanded
from etl.read.formats.text import codec_for
from etl.read.formats.xml import named_encoding

log = logging.getLogger(__name__)

RAW_LIMIT = 2_000  # characters of a record a report shows
CUT = f" [cut at {RAW_LIMIT:,} characters]"
_BLOCK = 1 << 20
_NEAR = 256  # lines skipped one by one; further ones are counted a window at a time
_WINDOW = 1 << 16
_STEPPED = 8  # lines stepped over one by one once a window's span is halved that far
# Bytes of a line kept: enough for RAW_LIMIT + 1 characters of up to 4 bytes (UTF-8).
_LINE_BYTES = 4 * (RAW_LIMIT + 1)
_AUTO_DELIMITERS = (",", ";", "\t", "|")  # what format.delimiter = "auto" chooses among
_XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")


def raw_records(
    path: Path,
    contract: FeedContract,
    lines: Iterable[int],
    scratch: Path,
    parts: tuple[Part, ...] = (),
) -> dict[int, str]:
    """Source line -> the record starting there, as written (cut at RAW_LIMIT characters).

    For XLSX, call this only for a workbook the reader accepted: calamine is safe only
    after the reader's bounds check has passed.
    """
    wanted = sorted({n for n in lines if n > 0})
    if not wanted:
        return {}
    fmt = contract.format
    found: dict[int, str] = {}
    try:
        with expanded(path, fmt, scratch) as members:
            if len(members) > 1 and not parts:
                # Refused before its parts were numbered: a line cannot be told to a part.
                return {}
            for index, member in enumerate(members):
                own = _own_lines(parts, index, wanted)
                if not own:
                    continue
                read = _xlsx_rows if fmt.type == "xlsx" else _text
                offset = parts[index].offset if parts else 0
                found |= {offset + n: t for n, t in read(member.path, fmt, own).items()}
    except FileRejected as exc:
        # The file was refused for this already (a BOM that contradicts the contract):
        # the report goes out without the raw lines rather than not at all.
        log.info("%s: raw lines not shown: %s", path.name, exc)
        return {}
    return {line: _shown(text) for line, text in found.items()}


def _own_lines(parts: tuple[Part, ...], index: int, wanted: list[int]) -> list[int]:
    """The wanted lines that belong to part `index`, as that part numbers them."""
    if not parts:
        return wanted
    start = parts[index].offset
    end = parts[index + 1].offset if index + 1 < len(parts) else None
    return [n - start for n in wanted if n > start and (end is None or n <= end)]


def _shown(text: str) -> str:
    """Without the record's final line break; cut, with a marker, beyond RAW_LIMIT."""
    text = text.removesuffix("\n").removesuffix("\r")
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + CUT


def _text(path: Path, fmt: FormatSpec, wanted: list[int]) -> dict[int, str]:
    read_record: Callable[[_Lines], str]
    if fmt.type == "xml":
        # Decoded as the reader decoded it: the contract's encoding, else the declaration.
        codec = codec_for(path, named_encoding(fmt) or "auto", fallback=_declared_encoding(path))
        read_record = functools.partial(_xml_record, start=_record_start(fmt))
    else:
        codec = codec_for(path, fmt.encoding, fallback=fmt.fallback_encoding)
        read_record = functools.partial(_csv_record, fmt=fmt)
    cr_only = fmt.type == "csv" and _cr_only(path, codec)
    found: dict[int, str] = {}
    with path.open("rb") as handle:
        lines = _Lines(handle, codec, cr_only=cr_only)
        for line in wanted:
            if line < lines.number:
                continue  # inside the record read before (a file-level error's line)
            if not lines.skip_to(line):
                break
            text = read_record(lines)
            if text:
                found[line] = text
    return found


def _cr_only(path: Path, codec: str) -> bool:
    """Whether the file's first line break is a CR alone, as etl.read.formats.csv_dialect decides."""
    with path.open("rb") as handle:
        block = handle.read(_WINDOW + 4)  # a CR last in the window: its LF may follow
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(block)
    breaks = re.search(r"\r\n?|\n", text)
    return breaks is not None and breaks.group() == "\r"


def _record_start(fmt: FormatSpec) -> re.Pattern[str]:
    """The start tag of a record element, or of the repeated element a row may stand for.

    With `repeat`, a row's line is that of its repeated element (one <Price> of a
    <Product>), so that element is what the line shows. Any namespace prefix matches.
    """
    paths = [fmt.record or "", fmt.repeat or ""]
    names = [p.strip("/").split("/")[-1].split(":")[-1] for p in paths if p]
    tags = "|".join(re.escape(n) for n in names)
    return re.compile(rf"<(?:[\w.-]+:)?(?:{tags})(?=[\s/>])")


def _declared_encoding(path: Path) -> str:
    """The encoding an XML declaration names, if the codec is known; else UTF-8, XML's default."""
    with path.open("rb") as handle:
        match = _XML_ENCODING.match(handle.read(200))
    if match:
        name = match.group(1).decode("ascii")
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return "utf-8"


def _csv_record(lines: _Lines, fmt: FormatSpec) -> str:
    """The physical lines of the CSV record starting at the current line."""
    first = lines.next_line()
    if first is None:
        return ""
    taken = [first]

    def more() -> Iterator[str]:
        # The csv module pulls lines only until the record ends; none are given once the
        # text is long enough to be cut anyway.
        size = len(first)
        while size <= RAW_LIMIT and (text := lines.next_line()) is not None:
            taken.append(text)
            size += len(text)
            yield text

    delimiter = fmt.delimiter
    if delimiter == "auto":
        # Only a quote right after a delimiter opens a quoted cell, so the record's end
        # depends on it: the candidate the line holds most stands in for the reader's choice.
        delimiter = max(_AUTO_DELIMITERS, key=first.count)
    reader = csv.reader(
        itertools.chain([first], more()),
        delimiter=delimiter,
        quotechar=fmt.quote,
        escapechar=fmt.escape,
    )
    # A malformed record (the file was rejected for it) gives the lines read so far.
    with contextlib.suppress(csv.Error):
        next(reader, None)
    return "".join(taken)


class _RecordEnd(Exception):
    """Raised by the expat handler when the record element closes."""


def _xml_record(lines: _Lines, start: re.Pattern[str]) -> str:
    """The record element starting on the current line, as whole lines from its start tag."""
    first = lines.next_line()
    if first is None:
        return ""
    found = start.search(first)
    if found is None:
        return first.strip()  # no record starts here (a file-level error's line): the line
    taken = [first[found.start() :]]
    depth = 0

    def opened(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1

    def closed(name: str) -> None:
        nonlocal depth
        depth -= 1
        if depth == 0:
            raise _RecordEnd

    # A fresh parser on the element alone: no DOCTYPE can come mid-document, so no entity
    # is ever declared or fetched; an undefined one is an error and ends the record here.
    parser = expat.ParserCreate()
    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    size, text = 0, taken[0]
    try:
        while True:
            parser.Parse(text.encode("utf-8"), False)
            size += len(text)
            next_text = lines.next_line() if size <= RAW_LIMIT else None
            if next_text is None:
                break
            text = next_text
            taken.append(text)
    except (_RecordEnd, expat.ExpatError):
        pass
    return "".join(taken)


def _xlsx_rows(path: Path, fmt: FormatSpec, wanted: list[int]) -> dict[int, str]:
    """Each wanted row's cells (Excel row numbers), empty ones kept except at the end."""
    first, last = wanted[0], wanted[-1]
    try:
        reader = fastexcel.read_excel(path)
        sheet = fmt.sheet if isinstance(fmt.sheet, str) else reader.sheet_names[fmt.sheet]
        rows = reader.load_sheet(
            sheet, header_row=None, skip_rows=first - 1, n_rows=last - first + 1, dtypes="string"
        ).to_polars()
    except (fastexcel.FastExcelError, IndexError) as exc:
        log.info("%s: raw rows not shown: %s", path.name, exc)
        return {}
    found: dict[int, str] = {}
    keep = set(wanted)
    for number, cells in enumerate(rows.iter_rows(), start=first):
        if number in keep:
            texts = ["" if c is None else str(c) for c in cells]
            while texts and not texts[-1]:
                texts.pop()
            found[number] = " | ".join(texts)
    return found


class _Lines:
    """Physical lines of a binary file, numbered from 1 as the readers count them.

    Lines are found in the file's bytes and only the lines read are decoded: in UTF-8 and in
    a code page of one byte per character, LF and CR are bytes no other character contains,
    so lines skipped over are counted, never decoded (decoding every line before the last
    wanted one was half the lookup's time). A file in another codec (UTF-16) is decoded and
    written as UTF-8 block by block first, so its lines are found the same way. Memory stays
    at about one block: a line is kept only up to RAW_LIMIT + 1 characters.
    """

    def __init__(self, handle: BinaryIO, codec: str, *, cr_only: bool = False) -> None:
        self._handle = handle
        self._cr_only = cr_only  # every CR is a line end, read as LF
        bytewise = _bytewise(codec)
        self._decoder = None if bytewise else codecs.getincrementaldecoder(codec)("replace")
        # UTF-8 with a BOM: the BOM opens the file only; a line is plain UTF-8.
        self._codec = codec if bytewise and codec != "utf-8-sig" else "utf-8"
        # Text written here as UTF-8 is read back as it was, a lone surrogate included.
        self._errors = "replace" if bytewise else "surrogatepass"
        self._bom = codec == "utf-8-sig"
        self._data = b""
        self._at = 0  # where line `number` starts in `_data`
        self._eof = False
        self.number = 1

    def skip_to(self, line: int) -> bool:
        """Move to the start of `line`; False when the file ends before it.

        Far jumps count newlines a window at a time (C speed); near ones step line by
        line, so many rejected lines close together never rescan the same text.
        """
        while self.number < line:
            need = line - self.number
            if need > _NEAR:
                stop = min(len(self._data), self._at + _WINDOW)
                newlines = self._data.count(b"\n", self._at, stop)
                if newlines >= need:
                    self._at = _after_newlines(self._data, self._at, stop, need)
                    self.number = line
                    return True
                self.number += newlines
                self._at = stop
            else:
                end = self._data.find(b"\n", self._at)
                if end >= 0:
                    self._at = end + 1
                    self.number += 1
                    continue
                self._at = len(self._data)
            if self._at == len(self._data) and not self._fill():
                return False
        return True

    def next_line(self) -> str | None:
        """The current line with its line break, cut at RAW_LIMIT + 1 characters; None at the end."""
        parts: list[bytes] = []
        room = _LINE_BYTES
        while True:
            end = self._data.find(b"\n", self._at)
            stop = len(self._data) if end < 0 else end + 1
            parts.append(self._data[self._at : min(stop, self._at + max(room, 0))])
            room -= stop - self._at  # below 0: bytes of the line were left out
            self._at = stop
            if end >= 0:
                self.number += 1
                return self._decoded(b"".join(parts), whole=room >= 0)
            if not self._fill():
                data = b"".join(parts)
                return self._decoded(data, whole=room >= 0) if data else None

    def _decoded(self, data: bytes, *, whole: bool) -> str:
        """A line's first RAW_LIMIT + 1 characters; a cut line's partial last character is held back."""
        decoder = codecs.getincrementaldecoder(self._codec)(self._errors)
        return decoder.decode(data, final=whole)[: RAW_LIMIT + 1]

    def _fill(self) -> bool:
        """Read the next block after what is left; False once the file had ended."""
        if self._eof:
            return False
        block = self._handle.read(_BLOCK)
        self._eof = not block
        if self._decoder is not None:
            block = self._decoder.decode(block, final=self._eof).encode("utf-8", "surrogatepass")
        if self._bom:
            self._bom = False
            # A file shorter than the BOM that starts like one reads as nothing, as Python's
            # utf-8-sig decoder reads it (read() returns less than a block only at the end).
            cut = len(codecs.BOM_UTF8) if codecs.BOM_UTF8.startswith(block[:3]) else 0
            block = block[cut:]
        if self._cr_only:
            block = block.replace(b"\r", b"\n")
        self._data = self._data[self._at :] + block
        self._at = 0
        return True


def _bytewise(codec: str) -> bool:
    """Whether LF and CR are single bytes no other character contains: UTF-8, or a code page
    of one byte per character (its table) that gives them as themselves and nothing else."""
    if codec in ("utf-8", "utf-8-sig"):
        return True
    module = sys.modules.get(codecs.lookup(codec).incrementaldecoder.__module__)
    table = getattr(module, "decoding_table", None)
    if not isinstance(table, str) or len(table) != 256:
        return False
    return table.count("\n") == table.count("\r") == 1 and table[10] + table[13] == "\n\r"


def _after_newlines(data: bytes, start: int, stop: int, need: int) -> int:
    """Where the line after the `need`-th newline of data[start:stop] starts (it holds that many).

    The span is halved by counts (C speed) until few lines are left to step over, so a far
    line costs a few counts of its window instead of a Python step per line.
    """
    while need > _STEPPED:
        middle = (start + stop) // 2
        left = data.count(b"\n", start, middle)
        if left >= need:
            stop = middle
        else:
            start, need = middle, need - left
    for _ in range(need):
        start = data.index(b"\n", start) + 1
    return start

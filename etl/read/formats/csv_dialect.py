"""CSV dialects: turn what a contract declares into standard CSV that polars reads.

polars reads a header on the first line, a one-character delimiter and doubled quotes, up
to the end of the file. ERPs also write title lines above the header, a units row under it,
`\\"` for a quote, a trailer line that counts the records; this module finds where the
header and the data are and hands the reader a file that is nothing but them. Each step is
paid for only by the feeds whose contract declares it; the plain path reads one header line.

- `header_row`, `skip_after_header`: title lines above the header and rows under it (units)
  are not data. The header and the skipped rows are read with the csv module (a handful of
  lines), which gives the byte where the data starts and its physical line.
- `delimiter = "auto"`: chosen among , ; tab | by how the header and the next lines split.
- `escape`: a character (a backslash, say) before a quote or delimiter inside a cell, which
  polars cannot read; the file is rewritten once, streaming, to standard CSV (doubled
  quotes) in a scratch copy. Every record keeps its newlines, so every line its number.
- CR-only line ends (classic Mac exports): found without a key, when the file's first line
  break is a CR not followed by LF; the file is copied once, streaming, with every CR made
  an LF. One byte for one, so offsets and line numbers stay those of the original, and every
  step after (bounds, counts, the csv module) sees ordinary LF lines.
- `[format.trailer]`: found by reading the file backwards from its end (etl.read.formats.trailer),
  then cut off before polars reads the rest: truncating our own scratch copy costs nothing,
  an original file is copied up to the trailer (it is never changed).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from etl.config.contract_format import FormatSpec, TrailerSpec
from etl.errors import ParseError
from etl.read.formats import trailer

if TYPE_CHECKING:
    from _csv import Reader

log = logging.getLogger(__name__)

_BLOCK = 1 << 24
_SNIFFED = (",", ";", "\t", "|")  # in this order; a tie is refused, never broken by order
_SNIFF_BYTES = 64 * 1024
_SNIFF_RECORDS = 6  # the header and the five records under it
_TAIL_BYTES = 64 * 1024  # the first backwards read for a trailer; grows fourfold as needed
# A trailer found by pattern begins within the last trailer.WINDOW lines, and within this
# many bytes from the end: lines of hostile length are not read backwards by the thousand.
WINDOW_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Head:
    """Where the header is, what it says, and where the data starts (byte and line)."""

    line: int
    fields: tuple[str, ...]
    data_offset: int
    data_line: int


@dataclass(frozen=True)
class Found:
    """A trailer in the UTF-8 text: the byte its first line starts at, that line's fields."""

    offset: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Standard:
    """A file polars can read as it is: its path, the dialect resolved, header and trailer."""

    utf8: Path
    fmt: FormatSpec
    head: Head
    trailer: Found | None


def standard(path: Path, utf8: Path, fmt: FormatSpec, scratch: Path, made: list[Path]) -> Standard:
    """The data of `utf8` as standard CSV; scratch copies made for it are added to `made`."""
    top = _header_offset(path, utf8, fmt.header_row)
    if fmt.delimiter == "auto":
        fmt = fmt.model_copy(update={"delimiter": _sniff(path, utf8, top, fmt)})
    head = _walk_head(path, utf8, top, fmt)
    found = _find_trailer(path, utf8, head, fmt, fmt.trailer) if fmt.trailer else None
    end = found.offset if found else None
    if fmt.escape is not None:
        utf8 = _unescape(path, utf8, top, end, fmt, scratch, made)
        fmt = fmt.model_copy(update={"escape": None})  # standard CSV from here on
        head = _walk_head(path, utf8, top, fmt)
    elif end is not None:
        utf8 = _cut(path, utf8, end, scratch, made)
    return Standard(utf8, fmt, head, found)


def lf_lines(path: Path, utf8: Path, scratch: Path, made: list[Path]) -> Path:
    """`utf8` itself, or when its lines end in CR alone, a copy whose lines end in LF."""
    if not _cr_only(utf8):
        return utf8
    target = scratch / f".{path.name}.lf"
    target.parent.mkdir(parents=True, exist_ok=True)
    made.append(target)
    with utf8.open("rb") as src, target.open("wb") as out:
        for block in iter(lambda: src.read(_BLOCK), b""):
            out.write(block.replace(b"\r", b"\n"))
    log.info("%s: lines end in CR alone (classic Mac): read as LF", path.name)
    return target


def _cr_only(utf8: Path) -> bool:
    """Whether the first line break of the file is a CR with no LF after it."""
    with utf8.open("rb") as handle:
        for block in iter(lambda: handle.read(_SNIFF_BYTES), b""):
            cr = block.find(b"\r")
            lf = block.find(b"\n")
            if lf >= 0 and (cr < 0 or lf < cr):
                return False
            if 0 <= cr < len(block) - 1:
                return block[cr + 1 : cr + 2] != b"\n"
            if cr >= 0:  # a CR last in the block: the next byte decides
                return handle.read(1) != b"\n"
    return False


def reader(
    lines: Iterable[str], fmt: FormatSpec, delimiter: str = "", *, strict: bool = False
) -> Reader:
    """A csv module reader for the contract's dialect (`delimiter` resolved, or given)."""
    return csv.reader(
        lines,
        delimiter=delimiter or fmt.delimiter,
        quotechar=fmt.quote,
        escapechar=fmt.escape,
        strict=strict,
    )


def _header_offset(path: Path, utf8: Path, header_row: int) -> int:
    """Byte where line `header_row` starts; lines above it are titles, whatever they hold."""
    if header_row == 1:
        return 0
    with utf8.open("rb") as handle:
        for line in range(1, header_row):
            if not handle.readline():
                raise ParseError(
                    f"{path.name}: the file has {line - 1} lines, but format.header_row "
                    f"says the header is on line {header_row}",
                    line=max(line - 1, 1),
                )
        return handle.tell()


def _lines(handle: BinaryIO, end: int | None = None) -> Iterator[str]:
    """Lines of UTF-8 text from where `handle` is up to byte `end`; a BOM is dropped."""
    first = handle.tell() == 0
    while (end is None or handle.tell() < end) and (raw := handle.readline()):
        text = raw.decode("utf-8")
        yield text.removeprefix("\ufeff") if first else text
        first = False


def _walk_head(path: Path, utf8: Path, top: int, fmt: FormatSpec) -> Head:
    """Read the header record and the `skip_after_header` records under it with the csv module."""
    # A quote left open in the header would make the csv module read on to the end.
    budget = (fmt.skip_after_header + 1) * (fmt.max_line_bytes + 2)
    with utf8.open("rb") as handle:
        handle.seek(top)
        consumed = 0
        texts: list[str] = []  # what the records were read from, within the budget

        def counted() -> Iterator[str]:
            nonlocal consumed
            for text in _lines(handle):
                consumed += 1
                texts.append(text)
                if handle.tell() - top > budget:
                    raise ParseError(
                        f"{path.name}: the header (and the rows format.skip_after_header "
                        f"skips) do not end within {budget:,} bytes: a quote left open?",
                        line=fmt.header_row,
                    )
                yield text

        records = reader(counted(), fmt)
        try:
            header = next(records, None)
            _refuse_open_quote(path, texts[:consumed], fmt)
            for _ in range(fmt.skip_after_header):
                next(records, None)
        except csv.Error as exc:
            raise ParseError(f"{path.name}: the header is not readable as CSV: {exc}") from exc
        if header is None and fmt.header_row > 1:
            raise ParseError(
                f"{path.name}: nothing on line {fmt.header_row}, where format.header_row "
                "says the header is",
                line=fmt.header_row,
            )
        return Head(fmt.header_row, tuple(header or ()), handle.tell(), fmt.header_row + consumed)


def _refuse_open_quote(path: Path, texts: list[str], fmt: FormatSpec) -> None:
    """ParseError when the header's record runs to the end of the file inside a quote."""
    if len(texts) < 2:
        return  # the header ended with its own line: no quote left open
    try:
        next(reader(texts, fmt, strict=True), None)
    except csv.Error as exc:
        if "end of data" not in str(exc):
            return  # another oddity, read before (and since) without the strict rules
        raise ParseError(
            f"{path.name}: the header on line {fmt.header_row} opens a quote that is never "
            f"closed ({fmt.quote} before a name, none after it): the rest of the file would "
            "be one column name",
            line=fmt.header_row,
        ) from exc


def _sniff(path: Path, utf8: Path, top: int, fmt: FormatSpec) -> str:
    """The one delimiter that splits the header into most columns, the next lines alike."""
    with utf8.open("rb") as handle:
        handle.seek(top)
        sample = handle.read(_SNIFF_BYTES)
        whole = not handle.read(1)
    if not whole and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]  # whole lines only
    text = sample.decode("utf-8", errors="ignore").removeprefix("\ufeff")
    scores = {d: s for d in _SNIFFED if (s := _score(text, d, fmt, whole=whole)) is not None}
    best = max(scores.values(), default=None)
    chosen = [d for d, s in scores.items() if s == best]
    if len(chosen) == 1:
        log.info('%s: delimiter %r chosen (format.delimiter = "auto")', path.name, chosen[0])
        return chosen[0]
    if chosen:
        named = " and ".join(repr(d) for d in chosen)
        why = f"{named} split it alike ({best[1] if best else 0} columns)"
    else:
        why = "none of ',' ';' tab '|' splits it into columns"
    raise ParseError(
        f"{path.name}: cannot tell the delimiter from the header: {why}; declare it in the "
        'contract, e.g. format.delimiter = ";"',
        line=fmt.header_row,
    )


def _score(text: str, delimiter: str, fmt: FormatSpec, *, whole: bool) -> tuple[bool, int] | None:
    """(every record has the header's width, header width), or None when it is no delimiter."""
    records: list[list[str]] = []
    try:
        for record in reader(io.StringIO(text, newline=""), fmt, delimiter):
            if record:
                records.append(record)
            if len(records) > _SNIFF_RECORDS:
                break
    except csv.Error:
        return None
    if not whole and len(records) <= _SNIFF_RECORDS:
        records = records[:-1]  # the sample may end inside the last record
    if not records or len(records[0]) < 2:
        return None
    width = len(records[0])
    return all(len(r) == width for r in records[1:_SNIFF_RECORDS]), width


# ---- the trailer: found from the end, cut off before polars reads ----


def _find_trailer(
    path: Path, utf8: Path, head: Head, fmt: FormatSpec, spec: TrailerSpec
) -> Found | None:
    """The trailer among the last non-blank lines of the data; Truncated when required and absent."""
    if spec.lines is not None:
        want, cap = spec.lines, spec.lines * (fmt.max_line_bytes + 2)
    else:
        want, cap = trailer.WINDOW, WINDOW_BYTES
    lines = _tail(utf8, head.data_offset, want, cap)
    at = trailer.start([text for _, text in lines], spec)
    if at is None:
        if spec.required:
            raise trailer.missing(path.name, spec, _last_line(utf8))
        return None
    offset, text = lines[at]
    record = next(reader([text], fmt), [])
    return Found(offset, tuple(field.strip() for field in record))


def _tail(utf8: Path, start: int, want: int, cap: int) -> list[tuple[int, str]]:
    """The last `want` non-blank lines at or after byte `start`: (byte offset, text)."""
    size = utf8.stat().st_size
    span = _TAIL_BYTES
    with utf8.open("rb") as handle:
        while True:
            begin = max(start, size - span)
            handle.seek(begin)
            block = handle.read(size - begin)
            lines = _split_lines(block, begin, cut=begin > start)
            if len(lines) >= want or begin == start or span >= cap:
                return lines[-want:]
            span *= 4


def _split_lines(block: bytes, offset: int, *, cut: bool) -> list[tuple[int, str]]:
    """Non-blank lines of a block read from byte `offset`: (offset, text without line end).

    When the block was `cut` out of the middle of the file, its first line is only the end
    of a line and is left out.
    """
    if cut:
        first = block.find(b"\n") + 1  # 0 when there is no line end: no whole line at all
        offset, block = offset + first, block[first:] if first else b""
    lines = []
    for raw in block.split(b"\n"):
        if raw.strip():
            lines.append((offset, raw.rstrip(b"\r").decode("utf-8")))
        offset += len(raw) + 1
    return lines


def _last_line(utf8: Path) -> int:
    """Number of the file's last line (a final newline does not start another)."""
    newlines, last = 0, b"\n"
    with utf8.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            newlines, last = newlines + block.count(b"\n"), block[-1:]
    return max(1, newlines + (last != b"\n"))


def _cut(path: Path, utf8: Path, end: int, scratch: Path, made: list[Path]) -> Path:
    """A file with the first `end` bytes of `utf8`: our own copy shrunk, or a new one."""
    if utf8 in made:
        os.truncate(utf8, end)
        return utf8
    target = scratch / f".{path.name}.data"
    target.parent.mkdir(parents=True, exist_ok=True)
    made.append(target)
    with utf8.open("rb") as src, target.open("wb") as out:
        left = end
        while left and (block := src.read(min(left, _BLOCK))):
            out.write(block)
            left -= len(block)
    return target


# ---- escaped quotes: rewritten once to standard CSV ----


def _unescape(
    path: Path,
    utf8: Path,
    top: int,
    end: int | None,
    fmt: FormatSpec,
    scratch: Path,
    made: list[Path],
) -> Path:
    """Standard CSV (doubled quotes) from an escaped one, up to byte `end`, lines kept.

    Title lines are copied as they are; every record is written with the newlines its
    cells hold and one at its end, as it was read, so each record starts on its own line.
    """
    target = scratch / f".{path.name}.unescaped"
    target.parent.mkdir(parents=True, exist_ok=True)
    made.append(target)
    with utf8.open("rb") as src, target.open("wb") as raw_out:
        raw_out.write(src.read(top))
        out = io.TextIOWrapper(raw_out, encoding="utf-8", newline="")
        writer = csv.writer(out, delimiter=fmt.delimiter, quotechar=fmt.quote, lineterminator="\n")
        records = reader(_lines(src, end), fmt, strict=True)
        try:
            writer.writerows(records)
        except csv.Error as exc:
            raise ParseError(
                f"{path.name}: not readable as CSV with escape {fmt.escape!r}: {exc}",
                line=fmt.header_row + records.line_num - 1,
            ) from exc
        out.flush()
        out.detach()
    return target

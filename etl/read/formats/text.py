"""Make a text file readable as UTF-8, or say exactly where it is not.

polars reads UTF-8 only, and a bad byte there comes back as "invalid utf-8 sequence" with
no position. So every text file passes through here first: decoded strictly in chunks
(memory stays flat), re-encoded to a scratch UTF-8 file only when it is not UTF-8 already,
and a byte that does not decode is a file-level rejection naming the offset and line.

The first bytes are looked at before anything is decoded. Under `encoding = "auto"` a
byte-order mark decides (UTF-8, UTF-16 LE or BE), else `fallback_encoding`; a BOM that
contradicts the declared encoding is refused, not read as text. Known binary formats (PNG,
ZIP, gzip, PDF, old Office files...) are refused by name, and a NUL byte is never text in a
single-byte encoding: NUL-interleaved bytes are UTF-16 without a BOM, anything else binary.
UTF-16 without a BOM is read as little-endian, what Windows programs write.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO

import polars as pl

from etl.errors import EncodingError, ParseError

CHUNK = 16 * 1024 * 1024
_UTF8 = {"utf-8", "utf-8-sig"}
_ASCII = bytes(range(128))
_HEAD = 4096
# (BOM, what it means, declared codecs it agrees with, codec that reads it and drops it)
_BOMS = (
    (codecs.BOM_UTF8, "UTF-8", _UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "UTF-16-LE", {"utf-16", "utf-16-le"}, "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16-BE", {"utf-16", "utf-16-be"}, "utf-16"),
)
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook is one too)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (XLS/DOC)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
)


def as_utf8(path: Path, encoding: str, scratch: Path, *, fallback: str = "utf-8") -> Path:
    """Return a UTF-8 file with the content of `path` (the file itself when already UTF-8)."""
    with path.open("rb") as src:
        head = src.read(_HEAD)
    _refuse_binary(path, head)
    name = _choose_codec(path, head, encoding, fallback)
    if name in _UTF8:
        if not _valid_utf8(path):
            _check(path, name, None)  # raises, naming the byte and line
        return path
    target = scratch / f".{path.name}.utf8"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("wb") as out:
            pure_ascii = _check(path, name, out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if pure_ascii and _ascii_compatible(name):
        target.unlink()
        return path  # pure ASCII: identical in UTF-8, no copy needed
    return target


def codec_for(path: Path, encoding: str, *, fallback: str = "utf-8") -> str:
    """The codec `as_utf8` reads `path` with, for code that reads the file a second time."""
    with path.open("rb") as src:
        head = src.read(_HEAD)
    return _choose_codec(path, head, encoding, fallback)


def _choose_codec(path: Path, head: bytes, encoding: str, fallback: str) -> str:
    """The codec that reads `path`: a BOM decides under "auto"; a contradicting BOM is refused."""
    bom = next((b for b in _BOMS if head.startswith(b[0])), None)
    if encoding == "auto":
        if bom is not None:
            return bom[3]
        encoding = fallback
    name = codecs.lookup(encoding).name
    if bom is None:
        return "utf-16-le" if name == "utf-16" else name
    _, what, agrees, reader = bom
    if name not in agrees:
        raise EncodingError(
            f"{path.name}: starts with a {what} byte-order mark but the contract says "
            f'encoding = "{encoding}"; set encoding = "auto" (a BOM then decides)',
            line=1,
        )
    return reader


def _refuse_binary(path: Path, head: bytes) -> None:
    """A known binary format is refused by name before it can be misread as text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ParseError(
                f"{path.name}: this is {what}, not text (starts with bytes "
                f"{head[: len(magic)].hex(' ')}); only files named .gz or .zip are expanded",
                line=1,
            )


def _ascii_compatible(encoding: str) -> bool:
    """True when ASCII bytes mean the same characters (not so for UTF-16 or EBCDIC)."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


def _valid_utf8(path: Path, chunk: int = CHUNK) -> bool:
    """Whether `path` is UTF-8 with no NUL byte, found in native calls only.

    The common case pays one validation per block and nothing per line: an ASCII block is
    not looked at again, and no text is kept or counted. Where this says False, `_check`
    reads the file again to name the byte and line (the messages are made in one place).
    """
    pending = b""  # a character cut at the block's end, checked with the next block
    with path.open("rb") as src:
        while block := src.read(chunk):
            if b"\x00" in block:
                return False
            if not pending and block.isascii():
                continue
            data = pending + block if pending else block
            cut = len(data) - _unfinished(data)
            if not _utf8(data[:cut]):
                return False
            pending = data[cut:]
    return not pending


def _unfinished(data: bytes) -> int:
    """How many bytes at the end of `data` begin a character the next block finishes.

    Only a lead byte in the last three with too few continuation bytes after it counts;
    anything else stays in the block, where the check refuses it if it is broken.
    """
    for back in range(1, min(3, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: every character before it is whole
            return 0
        if byte >= 0xC0:  # a lead byte: 2, 3 or 4 bytes long
            return back if (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4) > back else 0
    return 0


def _utf8(data: bytes) -> bool:
    """Whether `data` is well-formed UTF-8 (as Python's strict codec judges it).

    polars' cast to text validates in native code, about a fifth of the CPU of decoding
    the block into a Python string (a 16 MB block of mostly ASCII with some letters).
    """
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:
        return False
    return True


def _check(path: Path, encoding: str, out: BinaryIO | None) -> bool:
    """Decode `path` strictly; write UTF-8 to `out` when given. True when it was pure ASCII.

    Lines are counted only for a message: a file that decodes pays nothing per line.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    single_byte = _ascii_compatible(encoding)  # where a NUL byte can only be binary
    offset, ascii_only = 0, True
    with path.open("rb") as src:
        while block := src.read(CHUNK):
            ascii_only = ascii_only and block.isascii()
            nul = block.find(b"\x00") if single_byte else -1
            # Up to a NUL only: a bad byte before it is named first, the NUL after.
            decoded = block if nul < 0 else block[:nul]
            state = decoder.getstate()
            try:
                text = decoder.decode(decoded)
            except UnicodeDecodeError as exc:
                decoder.setstate(state)
                lines = _lines_before(path, encoding, offset)
                end = _line_end(path, encoding)
                raise _decode_error(
                    path, encoding, decoded, exc, offset, lines, end, decoder
                ) from exc
            if nul >= 0:
                line = _lines_before(path, encoding, offset) + text.count(_line_end(path, encoding))
                raise _nul_error(path, encoding, block, offset + nul, line)
            if out is not None:
                out.write(text.encode("utf-8"))
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            at = offset - len(exc.object) + exc.start
            raise EncodingError(
                f"{path.name}: file ends inside a {encoding} character at byte {at} (truncated?)",
                line=_lines_before(path, encoding, offset),
            ) from exc
    return ascii_only


def _lines_before(path: Path, encoding: str, offset: int) -> int:
    """The line byte `offset` (a block's start) is on: 1 + the line ends decoded before it.

    Read again, block by block as `_check` read it, so the text (and what a multi-byte
    codec held back at each block's end) is the same.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    end, lines = _line_end(path, encoding), 1
    with path.open("rb") as src:
        while offset > 0 and (block := src.read(min(CHUNK, offset))):
            lines += decoder.decode(block).count(end)
            offset -= len(block)
    return lines


def _line_end(path: Path, encoding: str) -> str:
    """What ends a line of the file as the readers count them: CR when its first line break
    is a CR alone (classic Mac: every CR is one, etl.read.formats.csv_dialect), else LF."""
    with path.open("rb") as src:
        head = codecs.getincrementaldecoder(encoding)(errors="replace").decode(src.read(CHUNK))
    first = re.search(r"\r\n?|\n", head)
    return "\r" if first is not None and first.group() == "\r" else "\n"


def _decode_error(
    path: Path,
    encoding: str,
    block: bytes,
    exc: UnicodeDecodeError,
    offset: int,
    lines: int,
    end: str,
    decoder: codecs.IncrementalDecoder,
) -> EncodingError:
    # The codec saw a suffix of the stream ending with `block` (what of the block was decoded:
    # up to a NUL): bytes held back from the previous block in front of it, or a stripped
    # BOM missing from it. Count from the end.
    # The decoder is back at the start of the block: what precedes the bad byte decodes, and
    # its newlines (as text: in UTF-16 a 0x0a byte is not always one) give the line.
    at = offset + len(block) - len(exc.object) + exc.start
    before = decoder.decode(block[: max(0, at - offset)])
    bad = exc.object[exc.start : exc.start + 4].hex(" ")
    return EncodingError(
        f"{path.name}: not valid {encoding} at byte {at} (bytes {bad}); "
        f"check the contract's encoding or the ERP export",
        line=lines + before.count(end),
    )


def _nul_error(path: Path, encoding: str, block: bytes, at: int, line: int) -> ParseError:
    """A NUL byte in a single-byte encoding: UTF-16 without a BOM, or not text at all."""
    sample = block[:_HEAD]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    wide = "utf-16-le" if odd > 3 * even else "utf-16-be" if even > 3 * odd else None
    if at < _HEAD and wide and max(even, odd) * 4 > len(sample) // 2:
        return EncodingError(
            f"{path.name}: NUL bytes between the characters: this looks like {wide.upper()} "
            f'without a byte-order mark, not {encoding}; set encoding = "{wide}" in the '
            'contract (encoding = "auto" recognises UTF-16 only by its BOM)',
            line=line,
        )
    return ParseError(
        f"{path.name}: a NUL byte at byte {at}: binary data, not {encoding} text; "
        "check what the ERP sent",
        line=line,
    )

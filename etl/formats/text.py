"""Make a text file readable as UTF-8, or say exactly where it is not.

polars reads UTF-8 only, and a bad byte there comes back as "invalid utf-8 sequence" with
no position. So every text file passes through here first: decoded strictly in chunks
(memory stays flat), re-encoded to a scratch UTF-8 file only when it is not UTF-8 already,
and a byte that does not decode is a file-level rejection naming the offset and line.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import BinaryIO

from etl.errors import ParseError

CHUNK = 16 * 1024 * 1024
_UTF8 = {"utf-8", "utf-8-sig"}


def as_utf8(path: Path, encoding: str, scratch: Path) -> Path:
    """Return a UTF-8 file with the content of `path` (the file itself when already UTF-8)."""
    name = codecs.lookup(encoding).name
    if name in _UTF8:
        _check(path, name, None)
        return path
    target = scratch / f".{path.name}.utf8"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        if _check(path, name, out):
            target.unlink()
            return path  # pure ASCII: identical in UTF-8, no copy needed
    return target


def _check(path: Path, encoding: str, out: BinaryIO | None) -> bool:
    """Decode `path` strictly; write UTF-8 to `out` when given. True when it was pure ASCII."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset, lines, ascii_only = 0, 1, True
    with path.open("rb") as src:
        while block := src.read(CHUNK):
            ascii_only = ascii_only and block.isascii()
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _decode_error(path, encoding, block, exc, offset, lines) from exc
            if out is not None:
                out.write(text.encode("utf-8"))
            offset += len(block)
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"{path.name}: file ends inside a {encoding} character (truncated?)", line=lines
            ) from exc
    return ascii_only


def _decode_error(
    path: Path, encoding: str, block: bytes, exc: UnicodeDecodeError, offset: int, lines: int
) -> ParseError:
    at = offset + exc.start
    line = lines + block.count(b"\n", 0, exc.start)
    bad = block[exc.start : exc.start + 4].hex(" ")
    return ParseError(
        f"{path.name}: not valid {encoding} at byte {at} (bytes {bad}); "
        f"check the contract's encoding or the ERP export",
        line=line,
    )

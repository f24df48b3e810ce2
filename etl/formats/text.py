"""Make a text file readable as UTF-8, or say exactly where it is not; tidy cell text.

polars reads UTF-8 only, and a bad byte there comes back as "invalid utf-8 sequence" with
no position. So every text file passes through here first: decoded strictly in chunks
(memory stays flat), re-encoded to a scratch UTF-8 file only when it is not UTF-8 already,
and a byte that does not decode is a file-level rejection naming the offset and line.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import polars as pl

from etl.errors import EncodingError

CHUNK = 16 * 1024 * 1024
_UTF8 = {"utf-8", "utf-8-sig"}
_ASCII = bytes(range(128))


def as_utf8(path: Path, encoding: str, scratch: Path) -> Path:
    """Return a UTF-8 file with the content of `path` (the file itself when already UTF-8)."""
    name = codecs.lookup(encoding).name
    if name in _UTF8:
        _check(path, name, None)
        return path
    target = scratch / f".{path.name}.utf8"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        if _check(path, name, out) and _ascii_compatible(name):
            target.unlink()
            return path  # pure ASCII: identical in UTF-8, no copy needed
    return target


def clean_cells(frame: pl.DataFrame, columns: Sequence[str], nulls: Sequence[str]) -> pl.DataFrame:
    """Trim the spaces around every cell; a cell that is then one of `nulls` becomes null.

    One scan finds the columns that need either; only those are rewritten, so a clean
    export of a million rows is not copied for nothing.
    """
    if not frame.height or not columns:
        return frame

    def clean(column: str) -> pl.Expr:
        text = pl.col(column).str.strip_chars()
        if not nulls:
            return text
        return pl.when(text.is_in(list(nulls))).then(pl.lit(None, pl.String)).otherwise(text)

    def needs(column: str) -> pl.Expr:
        col = pl.col(column)
        dirty = col.str.contains(r"^\s|\s$")
        if nulls:
            dirty = dirty | col.is_in(list(nulls))
        return dirty.any().alias(column)

    flags = frame.select(needs(c) for c in columns).row(0, named=True)
    dirty = [c for c in columns if flags[c]]
    return frame.with_columns(clean(c).alias(c) for c in dirty) if dirty else frame


def _ascii_compatible(encoding: str) -> bool:
    """True when ASCII bytes mean the same characters (not so for UTF-16 or EBCDIC)."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


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
            at = offset - len(exc.object) + exc.start
            raise EncodingError(
                f"{path.name}: file ends inside a {encoding} character at byte {at} (truncated?)",
                line=lines,
            ) from exc
    return ascii_only


def _decode_error(
    path: Path, encoding: str, block: bytes, exc: UnicodeDecodeError, offset: int, lines: int
) -> EncodingError:
    # The codec saw a suffix of the stream ending with this block: bytes held back from the
    # previous block in front of it, or a stripped BOM missing from it. Count from the end.
    at = offset + len(block) - len(exc.object) + exc.start
    line = lines + block.count(b"\n", 0, max(0, at - offset))
    bad = exc.object[exc.start : exc.start + 4].hex(" ")
    return EncodingError(
        f"{path.name}: not valid {encoding} at byte {at} (bytes {bad}); "
        f"check the contract's encoding or the ERP export",
        line=line,
    )

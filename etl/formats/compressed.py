"""Compressed inputs: a `.gz` or `.zip` is expanded into the scratch folder, then read.

The file name decides, not the content: `prices.csv.gz` is gunzipped to `prices.csv`, and
`prices.zip` must hold exactly one data file, which is read; directory entries, macOS
`__MACOSX/` resource forks and `.DS_Store` are ignored, and a zip with no or several data
files is refused, naming them. The inner file is read with the contract's format.

Expanding is streamed in blocks (never the whole file in memory) and counted as it is
written: beyond `format.max_expanded_bytes` the file is refused as a compression bomb and
the partial copy removed, whatever the archive's headers claim. Only a member's base name
is used, so `../` in a zip cannot write outside the scratch folder. The expanded copy is
removed after reading; the compressed file as received is what the flow archives.
"""

from __future__ import annotations

import functools
import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Protocol

from etl.contracts import FeedContract, FormatSpec
from etl.errors import ParseError
from etl.models import ParsedFile

SUFFIXES = (".gz", ".zip")
_BLOCK = 1 << 20
# What a damaged or unsupported archive raises while it is read (never a disk-full error).
_BROKEN = (
    gzip.BadGzipFile,
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,  # a zip compression method Python lacks
    RuntimeError,  # an encrypted zip member
)
_MAX_NAMES = 10

Reader = Callable[[Path, FeedContract, Path], ParsedFile]


class _Source(Protocol):
    def read(self, size: int, /) -> bytes: ...


def opens_compressed(read: Reader) -> Reader:
    """Let a reader take `.gz` and `.zip` files: it is given the expanded file instead."""

    @functools.wraps(read)
    def wrapper(path: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
        with expanded(path, contract.format, scratch) as inner:
            return read(inner, contract, scratch)

    return wrapper


@contextmanager
def expanded(path: Path, fmt: FormatSpec, scratch: Path) -> Iterator[Path]:
    """`path` itself, or for `.gz`/`.zip` its content in `scratch`, removed on exit."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        yield path
        return
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=scratch))
    try:
        expand = _gunzip if suffix == ".gz" else _unzip
        yield expand(path, folder, fmt.max_expanded_bytes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _gunzip(path: Path, folder: Path, limit: int) -> Path:
    target = folder / _safe_name(path.stem)
    with gzip.open(path, "rb") as src:
        _copy(src, target, limit, path, "gzip file")
    return target


def _unzip(path: Path, folder: Path, limit: int) -> Path:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if _is_data(m)]
            if len(members) != 1:
                names = ", ".join(m.filename for m in members[:_MAX_NAMES]) or "none"
                more = ", ..." if len(members) > _MAX_NAMES else ""
                raise ParseError(
                    f"{path.name}: a zip must hold exactly one data file, "
                    f"this one holds {len(members)} ({names}{more})"
                )
            member = members[0]
            if member.file_size > limit:
                raise _too_big(path, limit)
            target = folder / _safe_name(member.filename)
            with archive.open(member) as src:
                _copy(src, target, limit, path, "zip archive")
    except _BROKEN as exc:
        raise _broken(path, "zip archive", exc) from exc
    return target


def _is_data(member: zipfile.ZipInfo) -> bool:
    """Not a directory entry, nor macOS junk."""
    name = member.filename.replace("\\", "/")
    return not (
        member.is_dir() or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1] == ".DS_Store"
    )


def _safe_name(name: str) -> str:
    """The base name only: nothing in an archive chooses where a file is written."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else "data"


def _copy(src: _Source, target: Path, limit: int, path: Path, kind: str) -> None:
    """Stream `src` to `target` in blocks; refuse (and remove the copy) beyond `limit` bytes."""
    written = 0
    with target.open("wb") as out:
        while True:
            try:
                block = src.read(_BLOCK)
            except _BROKEN as exc:
                raise _broken(path, kind, exc) from exc
            if not block:
                return
            written += len(block)
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise _too_big(path, limit)
            out.write(block)


def _too_big(path: Path, limit: int) -> ParseError:
    return ParseError(
        f"{path.name}: expands to more than {limit:,} bytes (format.max_expanded_bytes); "
        "refused as a possible compression bomb"
    )


def _broken(path: Path, kind: str, exc: BaseException) -> ParseError:
    return ParseError(f"{path.name}: not a readable {kind}: {exc}")

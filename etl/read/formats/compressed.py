"""Compressed inputs: a `.gz` or `.zip` is expanded into the scratch folder, then read.

The file name decides, not the content: `prices.csv.gz` is gunzipped to `prices.csv`, and
every data file of `prices.zip` is expanded, in the archive's order; directory entries,
macOS `__MACOSX/` resource forks and `.DS_Store` are ignored, and a zip with no data file is
refused. Each inner file is read with the contract's format (see `etl.read.formats.read_file`
for how several become one export).

Expanding is streamed in blocks (never the whole file in memory) and counted as it is
written: beyond `format.max_expanded_bytes` (all members together) the file is refused as a
compression bomb and the partial copy removed, whatever the archive's headers claim. For CSV
the lines are counted too, each block before it is written: a small archive of gigabytes of
newlines is refused at `format.max_rows` lines, having written no more than that to disk. For
XML each block goes through expat first, with the reader's bounds (etl.read.formats.xml_bounds): a
small `.xml.gz` of a 2 GiB text, of nesting without end or of millions of records is refused
at the block that passes a bound, before it is written. Only a
member's base name is used, each in a folder of its own, so `../` in a zip cannot write
outside the scratch folder and two members of the same name do not meet. The expanded copies
are removed after reading; the compressed file as received is what the flow archives.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import shape_check
from etl.read.formats.xml_bounds import Shape

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


@dataclass(frozen=True)
class Member:
    """One file to read: the file itself, or one expanded from a `.gz` or `.zip`."""

    name: str  # as the archive names it (printable), or the file's own name
    path: Path  # where its bytes are now


class _Source(Protocol):
    def read(self, size: int, /) -> bytes: ...


@contextmanager
def expanded(path: Path, fmt: FormatSpec, scratch: Path) -> Iterator[list[Member]]:
    """`path` itself, or for `.gz`/`.zip` its data files in `scratch`, removed on exit."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        yield [Member(path.name, path)]
        return
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=scratch))
    try:
        expand = _gunzip if suffix == ".gz" else _unzip
        yield expand(path, folder, _Budget.of(fmt))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class _Budget:
    """What the expanded members may hold, all together: bytes, and lines for CSV."""

    max_bytes: int
    max_lines: int | None  # None: lines are not rows in this format
    fmt: FormatSpec
    written: int = 0
    lines: int = 0
    xml: Shape | None = None  # the XML member being expanded, parsed as it is

    @classmethod
    def of(cls, fmt: FormatSpec) -> _Budget:
        """The contract's bounds; a CSV's header lines are allowed on top of `max_rows`."""
        lines = fmt.max_rows + fmt.header_row + fmt.skip_after_header if fmt.type == "csv" else None
        return cls(fmt.max_expanded_bytes, lines, fmt)

    def begin(self, path: Path) -> None:
        """A member starts: an XML one is parsed afresh (each is a document of its own)."""
        self.xml = shape_check(self.fmt, path.name) if self.fmt.type == "xml" else None

    def end(self) -> None:
        """A member is complete: an XML one must be a complete document."""
        if self.xml is not None:
            self.xml.feed(b"", final=True)

    def spend(self, block: bytes, path: Path) -> None:
        """Count `block`; ParseError when it takes the members past a bound."""
        if self.xml is not None:
            self.xml.feed(block)
        self.written += len(block)
        if self.written > self.max_bytes:
            raise _too_big(path, self.max_bytes)
        if self.max_lines is not None:
            self.lines += block.count(b"\n")
            if self.lines > self.max_lines:
                raise ParseError(
                    f"{path.name}: expands to more than {self.max_lines:,} lines "
                    "(format.max_rows, and the header); refused before reading",
                    line=self.max_lines + 1,
                )


def _gunzip(path: Path, folder: Path, budget: _Budget) -> list[Member]:
    target = folder / _safe_name(path.stem)
    with gzip.open(path, "rb") as src:
        _copy(src, target, budget, path, "gzip file")
    return [Member(path.stem, target)]


def _unzip(path: Path, folder: Path, budget: _Budget) -> list[Member]:
    out: list[Member] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if _is_data(m)]
            if not members:
                raise ParseError(f"{path.name}: the zip archive holds no data file")
            if sum(m.file_size for m in members) > budget.max_bytes:
                raise _too_big(path, budget.max_bytes)
            for number, member in enumerate(members, start=1):
                own = folder / str(number)
                own.mkdir()
                target = own / _safe_name(member.filename)
                with archive.open(member) as src:
                    _copy(src, target, budget, path, "zip archive")
                out.append(Member(_printable(member.filename), target))
    except _BROKEN as exc:
        raise _broken(path, "zip archive", exc) from exc
    return out


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


def _printable(name: str) -> str:
    """A member's name for messages and reports: no control characters, not too long."""
    shown = "".join(c if c.isprintable() else "?" for c in name.replace("\\", "/"))
    return shown if len(shown) <= 200 else shown[:200] + "..."


def _copy(src: _Source, target: Path, budget: _Budget, path: Path, kind: str) -> None:
    """Stream `src` to `target` in blocks, spending `budget`; refuse (and remove the copy) beyond it.

    Each block is counted before it is written, so a refused file leaves no more on disk
    than the budget allowed, and that is removed.
    """
    budget.begin(path)
    with target.open("wb") as out:
        try:
            while True:
                try:
                    block = src.read(_BLOCK)
                except _BROKEN as exc:
                    raise _broken(path, kind, exc) from exc
                if not block:
                    break
                budget.spend(block, path)
                out.write(block)
            budget.end()
        except ParseError:
            out.close()
            target.unlink(missing_ok=True)
            raise


def _too_big(path: Path, limit: int) -> ParseError:
    return ParseError(
        f"{path.name}: expands to more than {limit:,} bytes (format.max_expanded_bytes); "
        "refused as a possible compression bomb"
    )


def _broken(path: Path, kind: str, exc: BaseException) -> ParseError:
    return ParseError(f"{path.name}: not a readable {kind}: {exc}")

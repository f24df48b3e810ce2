"""People whose rows a run rejected: read again from the archived inputs, for `forget`.

A person whose every row was rejected (a bad cell, a company Norce does not know, a file
refused whole) is in no snapshot, yet the archived input and the rejected-row reports hold
their values. So each archived input of a customer feed whose run rejected rows, or the
whole file, is read again with the product's reader (etl.read: the file's format, encoding,
delimiter; a `.gz` or `.zip` opened) through the feed's current contract: the manifest names
the contract's path, not a copy of it, so the current one is the only one there is. Its
[columns] and [derive] name the cells; they are taken as the file wrote them, with no
validation and no [values] conversion (a rejected row may not cast, and the archived copy
holds the text as written, which is what is masked). A plain CSV is read a batch at a time,
so a large export is never held whole; any other file is read whole, as a run reads it.
A CSV whose text, in lower case, does not hold the value asked for has no row that matches it
and is not parsed at all (`may_hold`): an export from after the ERP removed the person, or a
delta that does not name them, costs a scan (0.2 s of CPU at a million rows, 110 MB) instead
of a parse (2 s).

The decoded and unpacked copies the reader writes hold every row of the file: they are made
in `state/privacy/rejected-reads/`, owner-only, never in the system temp, and the folder goes
when `forget` ends; one a killed `forget` left is removed by the next `forget` or `purge`
(`remove_leftover_reads`).

A file that cannot be read so (refused by the reader, a manifest that cannot be read) is
noted in `unreadable`: the erasure names it, never fails on it. One without a column the
contract reads a person's field from (an export from before the column was renamed) is read
for the columns it has and noted in `partial`, as the erasure there may be partial. Records
of another width than the header (a ragged row) have no cells to trust and are not read:
their text is masked where it holds the person's anchors, as any record is.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.config.contract_format import FormatSpec
from etl.config.contracts import FeedContract
from etl.errors import FileRejected
from etl.models import ParsedFile
from etl.privacy.person import PERSON_FIELDS, Request
from etl.read.formats import read_file
from etl.read.formats.compressed import expanded
from etl.read.formats.csv_batches import NotPlain, csv_batches
from etl.read.formats.text import codec_for
from etl.state.areas import Areas
from etl.state.base import Archive
from etl.state.manifest import Manifest
from etl.state.private_files import make_private_folder, remove_leftover

READS = "rejected-reads"  # under state/privacy/: the reader's copies, while forget runs
# What reading one file may raise that makes it unreadable here: refused by the reader,
# a manifest not readable, a file gone or not parsable.
UNREADABLE = (FileRejected, ValueError, OSError, pl.exceptions.PolarsError)
CHUNK = 16 * 2**20  # bytes of a file `may_hold` looks at a time


@dataclass
class RejectedInputs:
    """The archived inputs of the customer feeds' runs that rejected rows, read lazily."""

    archives: list[Archive]
    contracts: list[FeedContract]
    request: Request
    scratch: Path  # the reader's copies go here (`reads_folder`), never in the system temp
    unreadable: list[Path] = field(default_factory=list)  # inputs that could not be read
    # Inputs without a column the contract reads a person's field from: those it lacks.
    partial: dict[Path, list[str]] = field(default_factory=dict)

    def frames(self) -> Iterator[pl.DataFrame]:
        """Each input's rows (a batch at a time) as text, with the person fields it has."""
        for archive in self.archives:
            for contract in self.contracts:
                for run in _runs(archive, contract.name):
                    yield from self._read(archive, run, contract)

    def _read(self, archive: Archive, run: Path, contract: FeedContract) -> Iterator[pl.DataFrame]:
        """One run's input; noted as unreadable (and left) when the reader refuses it."""
        name: str | None = None
        try:
            name = _rejecting_input(archive.read_manifest(run))
            if name is None:
                return
            with archive.opened(run, name) as local:
                if local is None:
                    return  # purged: only its manifest is left, and no person in it
                yield from self._rows(local, contract, run / name)
        except UNREADABLE:
            self.unreadable.append(run / name if name else run)

    def _rows(self, local: Path, contract: FeedContract, named: Path) -> Iterator[pl.DataFrame]:
        """The rows of `local` (the run's file `named`, or a copy of it fetched from a bucket)."""
        make_private_folder(self.scratch, exist_ok=True)  # it holds every row of a file
        with (
            tempfile.TemporaryDirectory(dir=self.scratch, prefix="read-") as folder,
            expanded(local, contract.format, Path(folder)) as members,
        ):
            for member in members:
                if contract.format.type == "csv" and not may_hold(
                    member.path, contract.format, self.request.value.strip().lower()
                ):
                    continue
                for parsed in _parsed(member.path, contract, Path(folder)):
                    yield self._person_cells(parsed.frame, parsed.columns, contract, named)

    def _person_cells(
        self, frame: pl.DataFrame, columns: tuple[str, ...], contract: FeedContract, named: Path
    ) -> pl.DataFrame:
        """`frame`'s cells of the person fields the contract reads, by their field names."""
        sources = contract.field_sources()
        wanted = [sources[f] for f in PERSON_FIELDS if f in sources]
        lacking = [erp for erp in dict.fromkeys(wanted) if erp not in columns]
        if lacking:  # the cells it has are read; what stood under the old name is not known
            self.partial[named] = lacking
        cells = {f: sources[f] for f in PERSON_FIELDS if sources.get(f) in frame.columns}
        return frame.select(pl.col(erp).str.strip_chars().alias(f) for f, erp in cells.items())


def _runs(archive: Archive, feed: str) -> list[Path]:
    """The feed's runs, committed and refused whole (a refused file's rows were all rejected)."""
    return [*archive.runs(feed), *archive.runs(feed, rejected=True)]


def _rejecting_input(manifest: Manifest) -> str | None:
    """The input's name when its run rejected rows or the whole file; None otherwise."""
    counts = manifest.counts or {}
    if manifest.input is None or (manifest.outcome != "rejected" and not counts.get("rejected")):
        return None
    return manifest.input.name


def _parsed(path: Path, contract: FeedContract, scratch: Path) -> Iterator[ParsedFile]:
    """The file's rows: a plain CSV's a batch at a time, any other file's whole."""
    if contract.format.type == "csv":
        try:
            yield from csv_batches(path, contract.format, scratch, read=contract.read_columns())
            return
        except NotPlain:
            pass  # quotes, a trailer or blank lines: read whole (rows given twice are one)
    yield read_file(path, contract, scratch)


def may_hold(path: Path, fmt: FormatSpec, wanted: str, chunk: int = CHUNK) -> bool:
    """Whether the CSV at `path` may have a cell that is `wanted` (lower case) once trimmed
    and in lower case, as `Request.rows` matches one; False only when no cell can be.

    Such a cell stands in the file's text as it is, unless the dialect wrote it otherwise (a
    quote doubled, an escape before the delimiter or the escape): then the file is read
    whatever its text. So is it for a value beyond ASCII: polars (which `Request.rows` lower-
    cases with) and Python lower-case some letters differently (Unicode versions), and such
    requests are rare.
    """
    dialect = (fmt.quote, fmt.delimiter, *([fmt.escape] if fmt.escape is not None else []))
    if not wanted or not wanted.isascii() or any(c in wanted for c in dialect if c):
        return True
    codec = codec_for(path, fmt.encoding, fallback=fmt.fallback_encoding)
    if _ascii_compatible(codec):
        return _bytes_hold(path, codec, wanted, chunk)
    return _text_holds(path, codec, wanted, chunk)


def _bytes_hold(path: Path, codec: str, wanted: str, chunk: int) -> bool:
    """`may_hold` for an ASCII value in an encoding that writes ASCII as ASCII: its bytes in
    lower case (six times quicker than the text's, measured), the one letter outside ASCII
    that is an ASCII one in lower case (the Kelvin sign, `k`) taken as a match."""
    needles = [wanted.encode("ascii")]
    if "k" in wanted:
        needles += [k for k in ["\u212a".encode(codec, errors="ignore")] if k]
    keep = max(len(n) for n in needles) - 1  # a needle may stand across two blocks
    tail = b""
    with path.open("rb") as src:
        while block := src.read(chunk):
            data = tail + block.lower()
            if any(n in data for n in needles):
                return True
            tail = data[max(0, len(data) - keep) :]
    return False


def _text_holds(path: Path, codec: str, wanted: str, chunk: int) -> bool:
    """`may_hold` for an encoding that writes ASCII otherwise (UTF-16): the text decoded
    and in lower case."""
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    keep = len(wanted) - 1
    tail = ""
    with path.open("rb") as src:
        while block := src.read(chunk):
            text = tail + decoder.decode(block).lower()
            if wanted in text:
                return True
            tail = text[max(0, len(text) - keep) :]
    return wanted in tail + decoder.decode(b"", final=True).lower()


def _ascii_compatible(codec: str) -> bool:
    """Whether `codec` writes every ASCII character as that one byte (not UTF-16)."""
    ascii_text = "".join(map(chr, range(128)))
    try:
        # The BOM a `utf-8-sig` encoder writes first is no ASCII byte: it matches no value.
        plain = "utf-8" if codecs.lookup(codec).name == "utf-8-sig" else codec
        return ascii_text.encode(plain) == ascii_text.encode("ascii")
    except (UnicodeError, LookupError):
        return False


@contextmanager
def reads_folder(areas: Areas) -> Iterator[Path]:
    """The folder the reader's copies go to for one `forget` (made when first needed), removed
    at its end; one a killed `forget` left is removed first (logged). Hold every lock, as
    `forget` does: `purge` removes a leftover only holding the spool purge's (SPOOL_LOCK)."""
    remove_leftover_reads(areas)
    folder = areas.privacy / READS
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_leftover_reads(areas: Areas) -> bool:
    """Remove the copies of rejected rows a killed `forget` left; whether there were any."""
    return remove_leftover(areas.privacy / READS, "the copies of rejected rows")

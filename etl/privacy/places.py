"""Where the product keeps files, and how each kind of file is masked.

Places are named by their folder (`archive/customers`, `state/spool/orders`, ...), so the
erasure log can count per place without naming a file that might carry a name. Symlinks
are never followed; temp files (dot-prefixed) belong to a write in progress and are left.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from lxml import etree

from etl.privacy.masking import Masker
from etl.privacy.rewrite import (
    Rewriter,
    json_file,
    parquet_file,
    replace_atomically,
    text_lines,
    xlsx_file,
    xml_file,
)
from etl.state.areas import NAMES
from etl.state.manifest import MANIFEST, read_manifest, write_manifest

REWRITERS: dict[str, Rewriter] = {
    ".csv": text_lines,
    ".txt": text_lines,
    ".tsv": text_lines,
    ".json": json_file,
    ".xml": xml_file,
    ".xlsx": xlsx_file,
    ".parquet": parquet_file,
}
# Files of these kinds are not opened; the command names how many there are.
TEXT_KINDS = (".csv", ".txt", ".tsv", ".json", ".xml")
PACKED = (".zip", ".bz2", ".xz", ".zst", ".xls", ".xlsm", ".7z")
# Places of order records (bodies, refused bodies, order files): an order ref names its buyer.
ORDER_PLACES = tuple(
    p.as_posix() for p in (NAMES.spool("orders"), NAMES.file_area("orders"), NAMES.erp_outboxes)
)


class UnreadableFile(Exception):
    """A file that could be read neither as its kind nor as text: named as not erased."""


@dataclass
class Place:
    """One place: how many of its files held the person, how many values were masked."""

    name: str
    files: int = 0
    values: int = 0
    unit: str = "file"  # what `files` counts: files, or rows of a ledger table


@dataclass
class Sweep:
    """What a sweep of the file areas found (and, unless a dry run, changed)."""

    places: dict[str, Place] = field(default_factory=dict)
    changed: list[Path] = field(default_factory=list)
    packed: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)  # neither parsed nor read as text

    def count(self, name: str, path: Path, values: int) -> None:
        """Record `values` masked in `path`, a file of place `name`."""
        place = self.places.setdefault(name, Place(name))
        place.files, place.values = place.files + 1, place.values + values
        self.changed.append(path)


def files_under(root: Path) -> Iterator[Path]:
    """Regular files under `root`, symlinks and temp files left out, in a stable order."""
    if not root.is_dir() or root.is_symlink():
        return
    for path in sorted(root.iterdir()):
        if path.is_symlink() or path.name.startswith("."):
            continue
        if path.is_dir():
            yield from files_under(path)
        elif path.is_file():
            yield path


def place_of(home: Path, path: Path) -> str:
    """`archive/<feed>`, `outbox/<area>`, `state/spool/<kind>`, `state/snapshots/<feed>`."""
    parts = path.relative_to(home).parts
    depth = 3 if parts[0] == NAMES.state.name else 2
    return "/".join(parts[: min(depth, len(parts) - 1)])


def sweep(
    home: Path,
    roots: list[Path],
    masker: Masker,
    write: bool,
    keep: dict[Path, tuple[str, ...]],
    into: Sweep | None = None,
) -> Sweep:
    """Mask the person in every file under `roots`; `keep`: columns kept per snapshot folder.

    `into`: an earlier sweep this one adds to (places named relative to another home).
    """
    found = Sweep() if into is None else into
    in_orders = masker.in_orders()
    for root in roots:
        for path in files_under(root):
            if not maskable(path, found):
                continue
            place = place_of(home, path)
            theirs = in_orders if place.startswith(ORDER_PLACES) else masker
            values = masked_in(path, path, theirs, write, found, keep.get(path.parent))
            if values:
                found.count(place, path, values)
    return found


def maskable(path: Path, found: Sweep) -> bool:
    """Whether `path` is of a kind masked in place; a packed one is noted in `found` (a
    person opens it)."""
    suffix = path.suffix.lower()
    if suffix in PACKED:
        found.packed.append(path)
        return False
    inner = Path(path.stem).suffix.lower() if suffix == ".gz" else suffix
    return inner in REWRITERS


def masked_in(
    path: Path,
    local: Path,
    masker: Masker,
    write: bool,
    found: Sweep,
    keep: tuple[str, ...] | None = None,
) -> int:
    """Values masked in `local`: the file at `path`, or a copy of it fetched from a bucket.

    One its parser refuses is noted in `found` under `path` (how places and logs name it)."""
    try:
        if path.suffix.lower() == ".gz":
            return gzip_file(local, masker, write)
        return rewrite_file(local, masker, write, keep)
    except UnreadableFile:
        found.unreadable.append(path)
        return 0


def erasure_record(name: str, local: Path) -> dict[str, object]:
    """What a manifest's erasure entry says of a masked file: its name, new size and hash."""
    body = local.read_bytes()
    return {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def rewrite_file(path: Path, masker: Masker, write: bool, keep: tuple[str, ...] | None) -> int:
    """Values masked in one file; a file its parser refuses is masked line by line as text."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet" and keep is not None:
            return parquet_file(path, masker, write, keep)
        return REWRITERS[suffix](path, masker, write)
    except (ValueError, etree.XMLSyntaxError):
        # A truncated or refused body (archive/orders/rejected/): its text still names them.
        if suffix in TEXT_KINDS:
            return text_lines(path, masker, write)
        raise UnreadableFile(path) from None
    except (OSError, KeyError, zipfile.BadZipFile, pl.exceptions.PolarsError) as exc:
        raise UnreadableFile(path) from exc


def gzip_file(path: Path, masker: Masker, write: bool) -> int:
    """A gzip'd input (`kunder.csv.gz`): unpacked beside it (owner-only), masked, packed again."""
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(path) from exc
    inner = path.with_name(f".{path.stem}.{os.getpid()}.unpacked{Path(path.stem).suffix}")
    fd = os.open(inner, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        values = rewrite_file(inner, masker, write, None)
        if values and write:
            replace_atomically(path, gzip.compress(inner.read_bytes(), mtime=0))
        return values
    finally:
        inner.unlink(missing_ok=True)


def note_in_manifests(changed: list[Path], request: str, at: dt.datetime) -> list[Path]:
    """Each run folder whose files were masked: its manifest records the erasure, new hashes.

    The ledger keeps the hash of the file as received (so the same file is still known when
    the ERP sends it again); the manifest says why the archived copy no longer matches it.
    """
    by_folder: dict[Path, list[Path]] = {}
    for path in changed:
        if path.name != MANIFEST and (path.parent / MANIFEST).is_file():
            by_folder.setdefault(path.parent, []).append(path)
    for folder, paths in by_folder.items():
        manifest = folder / MANIFEST
        document = read_manifest(manifest)
        files = [
            {
                "name": p.name,
                "size": p.stat().st_size,
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            }
            for p in paths
        ]
        entry = {"at": at.isoformat(), "request": request, "files": files}
        # The entries read go back as read: a later version's keys in them are kept.
        write_manifest(manifest, document.updated(erasures=[*(document.erasures or []), entry]))
    return list(by_folder)

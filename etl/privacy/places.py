"""Where the product keeps files, and how each kind of file is masked.

Places are named by their folder (`archive/customers`, `state/spool/orders`, ...), so the
erasure log can count per place without naming a file that might carry a name. Symlinks
are never followed; temp files (dot-prefixed) belong to a write in progress and are left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
PACKED = (".gz", ".zip", ".bz2", ".xz", ".zst", ".xls", ".xlsm", ".7z")
MANIFEST = "manifest.json"


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
    depth = 3 if parts[0] == "state" else 2
    return "/".join(parts[: min(depth, len(parts) - 1)])


def sweep(
    home: Path,
    roots: list[Path],
    masker: Masker,
    write: bool,
    keep: dict[Path, tuple[str, ...]],
) -> Sweep:
    """Mask the person in every file under `roots`; `keep`: columns kept per snapshot folder."""
    found = Sweep()
    for root in roots:
        for path in files_under(root):
            suffix = path.suffix.lower()
            if suffix in PACKED:
                found.packed.append(path)
                continue
            rewrite = REWRITERS.get(suffix)
            if rewrite is None:
                continue
            if suffix == ".parquet" and path.parent in keep:
                values = parquet_file(path, masker, write, keep[path.parent])
            else:
                values = rewrite(path, masker, write)
            if values:
                found.count(place_of(home, path), path, values)
    return found


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
        document = json.loads(manifest.read_bytes())
        files = [
            {
                "name": p.name,
                "size": p.stat().st_size,
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            }
            for p in paths
        ]
        entry = {"at": at.isoformat(), "request": request, "files": files}
        document["erasures"] = [*document.get("erasures", []), entry]
        body = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        replace_atomically(manifest, body)
    return list(by_folder)

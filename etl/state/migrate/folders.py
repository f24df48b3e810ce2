"""The home's folders copied into the bucket, each file under `<prefix>/<home-relative path>`.

Every area that lives on object storage keys its objects by the path the file has under the
home (`archive/<feed>/...`, `state/snapshots/<feed>/...`, `state/spool/orders/<name>`,
`outbox/erp/<layout>/...`), so the copy knows no area's insides: it walks the folders and
puts each file whole. Hidden names are left out and listed: a temp being written, a folder a
run staged (marks.py publishes those of committed runs). The marks are marks.py's too.

A copy stopped half-way is taken up again: an object already there with the file's size is
skipped (an object store's put is whole or absent, so a size that matches is the same put),
one of another size is put again (the home is the truth until the move is done).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from etl.state.areas import NAMES
from etl.state.blobs import Blobs

_THREADS = 16  # requests in flight at once
# The folders that move, relative to the home; the rest (inbox/, state/locks/, the ledger
# file, state/privacy/ and state/retention/) stays with the machine.
AREAS = (NAMES.archive, NAMES.snapshots, NAMES.spools, NAMES.outbox)
# Folders under the areas that stay on the VM's disk: none now. The exported order and party
# files (archive/<orders|parties>/exported/) move, and every machine's purge and forget find
# them in the bucket (etl.state.blob_exported); so do the refused and retaken bodies
# (archive/orders/rejected/, archive/orders/retaken/, archive/parties/rejected/), which every
# machine reads from the bucket (etl.state.blob_refused).
STAY_ON_DISK: tuple[str, ...] = ()


@dataclass
class AreaCopy:
    """What one area holds and what became of it."""

    area: str
    files: int = 0
    bytes: int = 0
    copied: int = 0
    already: int = 0  # there from an earlier, interrupted move: skipped
    replaced: int = 0  # there with another size: put again
    hidden: list[str] = field(default_factory=list)  # temps and staged folders, left alone

    def line(self, *, dry_run: bool) -> str:
        """One line of the report."""
        head = f"{self.area + '/':<18} {self.files:>7,} files {self.bytes:>15,} bytes"
        if dry_run:
            return head
        return (
            f"{head}  copied {self.copied:,}, already there {self.already:,}, "
            f"put again {self.replaced:,}"
        )


def survey(home: Path) -> list[AreaCopy]:
    """Each area's files and bytes, nothing copied."""
    areas = []
    for area in AREAS:
        tally = AreaCopy(area.as_posix())
        for path in files_under(home / area, tally.hidden, home):
            tally.files += 1
            tally.bytes += path.stat().st_size
        areas.append(tally)
    return areas


def copy_area(home: Path, area: AreaCopy, blobs: Blobs) -> None:
    """Put each file of the area under its home-relative key; count what was done.

    Object-store requests wait on the network, not the CPU: several go at once. The first
    failure stops the copy (the rest of a run again skips what landed).
    """
    area.hidden.clear()
    with ThreadPoolExecutor(_THREADS) as pool:
        puts = [
            pool.submit(copy_file, p.relative_to(home).as_posix(), p, blobs)
            for p in files_under(home / area.area, area.hidden, home)
        ]
        try:
            for put in puts:
                outcome = put.result()
                setattr(area, outcome, getattr(area, outcome) + 1)
        except BaseException:
            pool.shutdown(cancel_futures=True)  # a store that is down: do not try every file
            raise


def copy_file(key: str, path: Path, blobs: Blobs) -> str:
    """Put one file under `key`; "copied", "already" (the same size is there) or "replaced"."""
    found = blobs.stat(key)
    if found is not None and found.size == path.stat().st_size:
        return "already"
    blobs.put_file(key, path)
    return "copied" if found is None else "replaced"


def subfolders(parent: Path) -> list[Path]:
    """Real, not hidden subfolders of `parent`, sorted (none when it is missing)."""
    if not parent.is_dir():
        return []
    return sorted(
        p
        for p in parent.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )


def files_under(top: Path, hidden: list[str], home: Path) -> Iterator[Path]:
    """Regular files under `top`, sorted; hidden names (and what is below them) go to `hidden`."""
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        for name in [d for d in dirs if d.startswith(".")]:
            hidden.append((here / name).relative_to(home).as_posix() + "/")
        # os.walk follows no links
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _moves(here / d, home))
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                hidden.append(path.relative_to(home).as_posix())
            elif path.is_file() and not path.is_symlink():
                yield path


def _moves(folder: Path, home: Path) -> bool:
    """Whether the folder goes to the bucket (those in STAY_ON_DISK do not)."""
    return folder.relative_to(home).as_posix() not in STAY_ON_DISK

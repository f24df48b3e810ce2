"""The local archive: `archive/<feed>/<date>/<run>/` with the input, manifest.json and reports.

A run's folder is built under a dot-prefixed temp name and renamed into place after the
ledger commit, so a folder without the dot always belongs to a committed run (etl.state.staged,
which the file-mode outbox shares). The seam it implements is etl.state.base.Archive.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.state import staged as staging
from etl.state.atomic import TEMP_GLOB, atomic_file
from etl.state.ledger.base import FeedLedger
from etl.state.manifest import MANIFEST, Manifest, read_manifest, write_manifest

REJECTED = "rejected"  # archive/<feed>/rejected/<date>/<run>/: files refused whole


class LocalArchive:
    """Run folders on the local disk, for people to read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stage(self, feed: str, day: str, run_id: str, *, rejected: bool = False) -> Path:
        """A fresh temp folder for a run; published with `publish` after commit."""
        return staging.stage(self.root / feed / (REJECTED if rejected else "") / day, run_id)

    def final(self, staged: Path) -> Path:
        """Where a staged folder lands when published."""
        return staged.with_name(staging.run_of(staged))

    def keep_input(self, source: Path, staged: Path) -> Path:
        """Put the original file into the run folder (hard link when possible, else copy)."""
        target = staged / source.name
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return target

    def write_manifest(self, staged: Path, manifest: Manifest) -> None:
        """Write the run's manifest.json (atomically, owner-only)."""
        write_manifest(staged / MANIFEST, manifest)

    def publish(self, staged: Path) -> Path:
        """Rename a staged run folder to its final name."""
        final = self.final(staged)
        staged.replace(final)
        return final

    def recover(self, feed: str, ledger: FeedLedger) -> list[Path]:
        """Publish a feed's staged folders of committed runs; drop those that never committed.

        Called under the feed's lock, so no run of this feed is staging right now.
        """
        root = self.root / feed
        folders = [*root.glob(f"*/{TEMP_GLOB}"), *root.glob(f"{REJECTED}/*/{TEMP_GLOB}")]
        return [self.final(s) for s in staging.settle(folders, ledger, self.publish)]

    def runs(self, feed: str, *, rejected: bool = False) -> list[Path]:
        """Published run folders, oldest first: by date folder, then run id (which starts
        with the run's time); staged (dot-named) folders and symlinks are not runs."""
        top = self.root / feed / (REJECTED if rejected else "")
        return sorted(run for day in _folders(top) if day.name != REJECTED for run in _folders(day))

    def read_manifest(self, run: Path) -> Manifest:
        """The run folder's manifest.json."""
        return read_manifest(run / MANIFEST)

    def feeds(self) -> list[str]:
        """The archive's top-level folders, in name order."""
        return sorted(p.name for p in _folders(self.root))

    def files(self, run: Path) -> dict[str, int]:
        """The run folder's regular files, in name order; symlinks and temps are not its."""
        if not self._is_run(run):
            return {}  # a path outside the archive (or a link) holds nothing of it
        top, found = run, dict[str, int]()
        for here, dirs, names in os.walk(top, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                path = Path(here) / name
                if not name.startswith(".") and path.is_file() and not path.is_symlink():
                    found[path.relative_to(top).as_posix()] = path.stat().st_size
        return found

    @contextmanager
    def opened(self, run: Path, name: str) -> Iterator[Path | None]:
        """The file itself, read in place (None when the run has no such regular file)."""
        yield run / name if name in self.files(run) else None

    def replace(self, run: Path, name: str, source: Path) -> None:
        """Copy `source` over the run's file atomically (temp, fsync, rename), its mode kept."""
        target = self._inside(run, name)
        with (
            source.open("rb") as new,
            atomic_file(target, mode=target.stat().st_mode & 0o777) as out,
        ):
            shutil.copyfileobj(new, out)

    def rewrite_manifest(self, run: Path, manifest: Manifest) -> None:
        """Write the run folder's manifest.json again (atomically, owner-only)."""
        write_manifest(self._run(run) / MANIFEST, manifest)

    def remove(self, run: Path, names: list[str]) -> None:
        """Unlink the run's files (never its manifest); subfolders emptied go too."""
        held = self.files(run)
        for name in names:
            if name != MANIFEST and name in held:
                (run / name).unlink(missing_ok=True)
        for here, _dirs, _names in os.walk(self._run(run), topdown=False, followlinks=False):
            folder = Path(here)
            if folder != run and not folder.is_symlink() and not any(folder.iterdir()):
                folder.rmdir()

    def _run(self, run: Path) -> Path:
        """`run` when it is a real folder inside the archive; ValueError otherwise."""
        if not self._is_run(run):
            raise ValueError(f"{run} is not a run folder of the archive at {self.root}")
        return run

    def _is_run(self, run: Path) -> bool:
        """Whether `run` lies inside the archive and is not reached through a link."""
        return not run.is_symlink() and run.resolve().is_relative_to(self.root.resolve())

    def _inside(self, run: Path, name: str) -> Path:
        """The run's file `name`: a regular file in the run folder, not reached by a link."""
        if name not in self.files(run):
            raise FileNotFoundError(f"{run}: no file {name!r} in the run folder")
        return run / name


def _folders(parent: Path) -> list[Path]:
    """Real, not dot-named subfolders of `parent` (none when it is missing)."""
    if not parent.is_dir() or parent.is_symlink():
        return []
    return [
        p
        for p in parent.iterdir()
        if not p.name.startswith(".") and p.is_dir() and not p.is_symlink()
    ]

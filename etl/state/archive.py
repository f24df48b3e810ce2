"""The local archive: `archive/<feed>/<date>/<run>/` with the input, manifest.json and reports.

A run's folder is built under a dot-prefixed temp name and renamed into place after the
ledger commit, so a folder without the dot always belongs to a committed run (etl.state.staged,
which the file-mode outbox shares). The seam it implements is etl.state.base.Archive.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from etl.state import staged as staging
from etl.state.atomic import TEMP_GLOB
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


def _folders(parent: Path) -> list[Path]:
    """Real, not dot-named subfolders of `parent` (none when it is missing)."""
    if not parent.is_dir() or parent.is_symlink():
        return []
    return [
        p
        for p in parent.iterdir()
        if not p.name.startswith(".") and p.is_dir() and not p.is_symlink()
    ]

"""The archive: `archive/<feed>/<date>/<run>/` with the input, manifest.json and reports.

A run's folder is built under a dot-prefixed temp name and renamed into place after the
ledger commit, so a folder without the dot always belongs to a committed run (etl.state.staged,
which the file-mode outbox shares).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from etl.state import staged as staging
from etl.state.ledger.feed_runs import Ledger


class Archive:
    """Run folders for people to read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stage(self, feed: str, day: str, run_id: str, *, rejected: bool = False) -> Path:
        """A fresh temp folder for a run; published with `publish` after commit."""
        return staging.stage(self.root / feed / ("rejected" if rejected else "") / day, run_id)

    @staticmethod
    def final(staged: Path) -> Path:
        """Where a staged folder lands when published."""
        return staged.with_name(staging.run_of(staged))

    def publish(self, staged: Path) -> Path:
        """Rename a staged run folder to its final name."""
        final = self.final(staged)
        staged.replace(final)
        return final

    @staticmethod
    def keep_input(source: Path, staged: Path) -> Path:
        """Put the original file into the run folder (hard link when possible, else copy)."""
        target = staged / source.name
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return target

    @staticmethod
    def write_json(path: Path, document: dict[str, Any]) -> None:
        """Write a JSON document atomically."""
        temp = path.with_name(f".{path.name}.part")
        temp.write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        temp.replace(path)

    def recover(self, feed: str, ledger: Ledger) -> list[Path]:
        """Publish a feed's staged folders of committed runs; drop those that never committed.

        Called under the feed's lock, so no run of this feed is staging right now.
        """
        root = self.root / feed
        folders = [*root.glob("*/.*.part"), *root.glob("rejected/*/.*.part")]
        return [self.final(s) for s in staging.settle(folders, ledger, self.publish)]

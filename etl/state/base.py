"""The archive seam: where a run's folder is built, published, read back and listed.

A run fills a local staged folder (its input, reports, delta, manifest) and publishes it after
its ledger commit; what is published belongs to a committed run. `LocalArchive` keeps the folders
under `archive/` for people to read (published: renamed into place); `BlobArchive`
(etl.state.blob_archive, `[storage] backend = "s3"`) uploads the staged folder on `publish` and
answers `runs` and `read_manifest` from the store (published: the run's mark object is there).
The tools that read or change published runs (trace, approve, the console, replay, purge,
forget) go through `feeds`, `files`, `opened`, `replace`, `rewrite_manifest` and `remove`, so
they reach runs wherever they are. Every implementation passes
tests/state/test_archive_contract.py.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from etl.state.ledger.base import FeedLedger
from etl.state.manifest import Manifest


class Archive(Protocol):
    """Run folders: staged while a run works, published when it commits."""

    def stage(self, feed: str, day: str, run_id: str, *, rejected: bool = False) -> Path:
        """A fresh, empty local folder for a run to fill; published with `publish`."""
        ...

    def final(self, staged: Path) -> Path:
        """Where a staged folder lands when published (the ledger records it)."""
        ...

    def keep_input(self, source: Path, staged: Path) -> Path:
        """Put the run's original file into its staged folder; returns the copy."""
        ...

    def write_manifest(self, staged: Path, manifest: Manifest) -> None:
        """Write the run's manifest.json into its staged folder."""
        ...

    def publish(self, staged: Path) -> Path:
        """Put a staged folder in its final place, all at once; returns `final(staged)`."""
        ...

    def recover(self, feed: str, ledger: FeedLedger) -> list[Path]:
        """Publish the feed's staged folders of committed runs, drop those that never committed."""
        ...

    def runs(self, feed: str, *, rejected: bool = False) -> list[Path]:
        """The feed's published run folders (or those of files refused whole), oldest first."""
        ...

    def read_manifest(self, run: Path) -> Manifest:
        """The manifest of a published run folder (as `final` or `runs` name it)."""
        ...

    def feeds(self) -> list[str]:
        """Names of the top-level folders that hold published runs (or anything else)."""
        ...

    def files(self, run: Path) -> dict[str, int]:
        """What a published run holds: names ("/" form, its manifest included) -> sizes."""
        ...

    def opened(self, run: Path, name: str) -> AbstractContextManager[Path | None]:
        """A local path to read the run's file `name` from while the context lasts (None:
        the run holds no such file)."""
        ...

    def replace(self, run: Path, name: str, source: Path) -> None:
        """Put the local file `source` in place of the run's file `name`, whole (an erasure)."""
        ...

    def rewrite_manifest(self, run: Path, manifest: Manifest) -> None:
        """Replace a published run's manifest.json (what purge and forget record)."""
        ...

    def remove(self, run: Path, names: list[str]) -> None:
        """Remove files of a published run (a purge); its manifest stays."""
        ...

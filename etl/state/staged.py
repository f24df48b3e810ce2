"""What exists only until a run commits: staged run folders, and temp files a dead run left.

A run builds what others will read (its archive folder, in file mode its Norce calls) in a
folder named `.<run>.part` and moves it into place after its ledger commit, so whatever is
in place belongs to a committed run. `settle` is the one rule for what a dead run left
staged; the archive (etl.state.archive) and the file-mode outbox (etl.norce.file_delivery) use it.
Staged folders and temp files share one naming rule, owned by etl.state.atomic (`TEMP_GLOB`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from etl.state.atomic import TEMP_SUFFIX
from etl.state.ledger.base import FeedLedger

# Outcomes whose staged folders are published: the run's commit already happened.
PUBLISHED = ("committed", "rejected")


def stage(parent: Path, run_id: str) -> Path:
    """A fresh, empty `.<run>.part` folder in `parent`."""
    staged = staged_path(parent, run_id)
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    return staged


def staged_path(parent: Path, run_id: str) -> Path:
    """Where `stage` puts the run's folder: hidden, and named as etl.state.atomic names temps."""
    return parent / f".{run_id}{TEMP_SUFFIX}"


def run_of(staged: Path) -> str:
    """The run a staged folder belongs to."""
    return staged.name[1:].removesuffix(TEMP_SUFFIX)


def settle(
    staged: Iterable[Path], ledger: FeedLedger, publish: Callable[[Path], object]
) -> list[Path]:
    """Publish the folders of committed runs, drop those of runs that ended without a commit.

    A folder of a run still `running` is left alone. Call under the feed's lock, after its
    stale runs were marked interrupted: then no run it could belong to is writing it.
    """
    published = []
    for folder in sorted(staged):
        if not folder.is_dir():
            continue
        run = ledger.run(run_of(folder))
        if run is not None and run.outcome in PUBLISHED:
            publish(folder)
            published.append(folder)
        elif run is None or run.outcome != "running":
            shutil.rmtree(folder)
    return published


def remove(paths: Iterable[Path]) -> list[Path]:
    """Delete each file or folder (never following a symlink); returns what went."""
    gone = []
    for path in sorted(paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        gone.append(path)
    return gone


def untouched_since(folder: Path, pattern: str, cutoff: float) -> list[Path]:
    """Files in `folder` matching `pattern` whose last write is before `cutoff` (epoch seconds)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                found.append(path)
        except FileNotFoundError:  # renamed into place by its writer just now
            continue
    return found

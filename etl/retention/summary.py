"""What a purge of the archive reports: one summary per area, each file removed with its hash.

Shared by the purge of folders on the disk (etl.retention.purge) and of runs in object
storage (etl.retention.stored_runs), so both report and record alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("etl.retention.purge")

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Removal:
    """One file a purge removes (or would): its path, size and SHA-256 (None in a dry run)."""

    path: Path
    size: int
    sha256: str | None = None

    def record(self, folder: Path) -> dict[str, Any]:
        """The manifest entry: name relative to the folder, size, hash."""
        name = self.path.relative_to(folder).as_posix()
        return {"name": name, "size": self.size, "sha256": self.sha256}


@dataclass
class AreaSummary:
    """What a purge did to one feed's run folders, or to one order area."""

    area: str  # feed name, orders/exported/<layout>, orders/rejected
    kind: Literal["feed", "orders"]
    retention_days: int | None
    folders: int = 0  # run folders, day folders or refused bodies purged
    removals: list[Removal] = field(default_factory=list)
    purged_before: int = 0  # purged by an earlier purge, left as they were
    younger: int = 0  # not past the retention yet
    skipped: list[str] = field(default_factory=list)  # left alone, with why


def day_of(name: str) -> dt.date | None:
    """The date a date folder (`YYYY-MM-DD`) names; None when it names none."""
    if not _DAY.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


def end_of(day: dt.date) -> dt.datetime:
    """The moment a date folder's day ended (UTC): nothing in it is younger."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def log_summary(summary: AreaSummary, *, dry_run: bool) -> None:
    """One INFO line for an area a purge removed files from."""
    if summary.removals and not dry_run:
        log.info(
            "purge %s: %d folders, %d files, %d bytes removed (retention %s days)",
            summary.area,
            summary.folders,
            len(summary.removals),
            sum(r.size for r in summary.removals),
            summary.retention_days,
        )

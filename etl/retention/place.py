"""What a purge did to one place outside `archive/`: counts for the one-line summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from etl.dates import utc


@dataclass
class Place:
    """One place (a feed's snapshot, a spool, the document book, an outbox folder)."""

    name: str  # snapshots/customers, spool/orders, documents/invoices, outbox/checks/customers
    unit: str  # rows, bodies, documents, files
    retention_days: int | None
    action: str = "remove"  # or "reduce": the row or record stays, its personal values go
    removed: int = 0  # reduced or removed now (or that would be, in a dry run)
    kept: int = 0  # not past the retention yet
    skipped: list[str] = field(default_factory=list)  # left alone, with why

    def line(self, *, dry_run: bool = False) -> str:
        """One line for the command's output."""
        if self.retention_days is None:
            where = (
                "[archive] orders_retention_days in the settings"
                if self.name.startswith("spool/")
                else "[archive] retention_days in its contract"
            )
            return f"{self.name}: kept forever (no {where})"
        verb = f"would {self.action}" if dry_run else f"{self.action}d"
        text = f"{self.name}: {verb} {self.removed} {self.unit}, {self.kept} younger than "
        text += f"{self.retention_days} days"
        if self.skipped:
            text += f", {len(self.skipped)} left alone: " + "; ".join(self.skipped)
        return text


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """The moment before which something is past a retention of `days`."""
    return utc(now) - dt.timedelta(days=days)

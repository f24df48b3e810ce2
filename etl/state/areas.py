"""Every area the product keeps under its home, declared once: callers ask here, never join names.

```
inbox/<feed>/                      files fetched and not yet committed
outbox/norce/<feed>/<batch>/       file-mode Norce calls (staged in outbox/.norce/ until commit)
outbox/checks/<feed>/              `run.py check` reports
outbox/erp/<layout>/               order and party files before upload (sent/ after)
archive/<feed>/<date>/<run>/       a feed's committed runs; archive/<feed>/rejected/<date>/<run>/
archive/orders/ archive/parties/   the Norce -> ERP side: exported/<layout>/<day>/, rejected/
                                   (bodies the receiver refused), orders/retaken/
state/ledger.sqlite                the ledger
state/snapshots/<feed>/            Parquet snapshots
state/spool/orders/ spool/parties/ bodies the receiver took
state/locks/<name>.lock            one run at a time (feeds, exports, the body purge)
state/privacy/ state/retention/    erasure log and salt; the row record of removed people
```

A feed's name becomes a folder in `archive/`, `inbox/`, `outbox/` and `state/`, and its job's
name; names that an area or another job already uses (`RESERVED_FEED_NAMES`) are refused when
the contracts load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# What the receiver and the export jobs keep in archive/ beside the feeds.
FileArea = Literal["orders", "parties"]

# The top folders under home; each is made owner-only at start (etl.state.private_files).
ROOTS = ("inbox", "outbox", "archive", "state")
# archive/<name>/ of the Norce -> ERP side (no feed contract): orders and customer/company files.
FILE_AREAS: tuple[FileArea, ...] = ("orders", "parties")
# Held by the body purge and by `forget`, so neither reads a body the other is rewriting.
SPOOL_LOCK = "retention-spools"
# Held by the whole purge and by `forget` (on a PostgreSQL ledger across machines too): never
# two purges at once, and no purge deleting what a forget is masking. The purge job's name.
PURGE_LOCK = "purge"
# The jobs the scheduler and `run.py worker` run beside the feeds whose names a feed could take
# (a feed's job is named by its feed; the order and party jobs hold "<-"/"->", which no feed
# name may). tests/state/test_job_names_reserved.py keeps this list in step with the jobs.
JOB_NAMES: dict[str, str] = {
    "alerts": "the heartbeat-and-alerts job",
    "purge": "the retention purge job",
}
# A feed of one of these names would share an archive folder, a lock or a job with what is not
# a feed.
RESERVED_FEED_NAMES: dict[str, str] = {
    "orders": "archive/orders/ holds the order files exported to the ERP and refused bodies",
    "parties": "archive/parties/ holds the customer and company files exported to the ERP",
    SPOOL_LOCK: f"state/locks/{SPOOL_LOCK}.lock is the lock of the spool purge",
    **{
        name: f"{what} of the scheduler and the workers is named {name!r} (its job id, task "
        "and queueing lock would be the feed's)"
        for name, what in JOB_NAMES.items()
    },
}


@dataclass(frozen=True)
class Areas:
    """The folders and files under one home."""

    home: Path

    # -- the roots ----------------------------------------------------------------------

    @property
    def inbox(self) -> Path:
        """`inbox/`: files fetched and not yet committed."""
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        """`outbox/`: what we produced, before it leaves."""
        return self.home / "outbox"

    @property
    def archive(self) -> Path:
        """`archive/`: everything committed, laid out for people."""
        return self.home / "archive"

    @property
    def state(self) -> Path:
        """`state/`: the ledger, snapshots, spools, locks."""
        return self.home / "state"

    # -- feeds --------------------------------------------------------------------------

    def feed_inbox(self, feed: str) -> Path:
        """`inbox/<feed>/`: the feed's downloads."""
        return self.inbox / feed

    def feed_runs(self, feed: str) -> Path:
        """`archive/<feed>/`: the feed's committed run folders, by date."""
        return self.archive / feed

    def feed_rejected(self, feed: str) -> Path:
        """`archive/<feed>/rejected/`: the feed's whole-file rejections, by date."""
        return self.feed_runs(feed) / "rejected"

    def feed_snapshots(self, feed: str) -> Path:
        """`state/snapshots/<feed>/`: the feed's Parquet snapshots."""
        return self.snapshots / feed

    # -- outbox -------------------------------------------------------------------------

    @property
    def norce_outbox(self) -> Path:
        """`outbox/norce/`: file-mode Norce calls, `<feed>/<batch>/`."""
        return self.outbox / "norce"

    @property
    def norce_staging(self) -> Path:
        """`outbox/.norce/`: a run's file-mode calls until its commit (hidden from readers)."""
        return self.outbox / ".norce"

    @property
    def checks(self) -> Path:
        """`outbox/checks/`: reports of `run.py check`, `<feed>/`."""
        return self.outbox / "checks"

    def feed_checks(self, feed: str) -> Path:
        """`outbox/checks/<feed>/`: the reports of files checked against the feed."""
        return self.checks / feed

    @property
    def erp_outboxes(self) -> Path:
        """`outbox/erp/`: one folder per layout."""
        return self.outbox / "erp"

    def erp_outbox(self, layout: str) -> Path:
        """`outbox/erp/<layout>/`: files for the ERP before (and, in sent/, after) upload."""
        return self.erp_outboxes / layout

    # -- the Norce -> ERP side ----------------------------------------------------------

    def file_area(self, area: FileArea) -> Path:
        """`archive/<area>/`: what the Norce -> ERP side keeps (never a feed's folder)."""
        return self.archive / area

    def exported_layouts(self, area: FileArea) -> Path:
        """`archive/<area>/exported/`: one folder per layout."""
        return self.file_area(area) / "exported"

    def exported(self, area: FileArea, layout: str) -> Path:
        """`archive/<area>/exported/<layout>/`: files uploaded to the ERP, by day."""
        return self.exported_layouts(area) / layout

    def refused(self, area: FileArea) -> Path:
        """`archive/<area>/rejected/`: bodies the receiver refused, each with its reason."""
        return self.file_area(area) / "rejected"

    @property
    def retaken(self) -> Path:
        """`archive/orders/retaken/`: refused order bodies an operator took in again."""
        return self.file_area("orders") / "retaken"

    @property
    def spools(self) -> Path:
        """`state/spool/`: one folder per file area."""
        return self.state / "spool"

    def spool(self, area: FileArea) -> Path:
        """`state/spool/<area>/`: bodies the receiver took, before they are exported."""
        return self.spools / area

    # -- state --------------------------------------------------------------------------

    @property
    def ledger(self) -> Path:
        """`state/ledger.sqlite`."""
        return self.state / "ledger.sqlite"

    @property
    def snapshots(self) -> Path:
        """`state/snapshots/`."""
        return self.state / "snapshots"

    @property
    def locks(self) -> Path:
        """`state/locks/`: one `<name>.lock` per feed family, export layout and the body purge."""
        return self.state / "locks"

    @property
    def privacy(self) -> Path:
        """`state/privacy/`: the erasure log and this machine's salt."""
        return self.state / "privacy"

    @property
    def retention(self) -> Path:
        """`state/retention/`: per feed, the row record of people removed from snapshots."""
        return self.state / "retention"


# The areas relative to home: the names people and reports know places by ("archive/orders").
NAMES = Areas(Path())


def reserved_reason(feed: str) -> str | None:
    """Why `feed` cannot be a feed's name (an area uses it), or None when it is free."""
    return RESERVED_FEED_NAMES.get(feed)


def kept_in_ledger(home: Path, path: Path) -> str:
    """`path` as the ledger keeps it: relative to the home when under it.

    The same ledger is read from wherever the program is started (`--home`, a service's
    working folder) and after the home is moved or restored elsewhere, so a path that
    depended on either would point at nothing, or at another home's files.
    """
    try:
        return str(path.resolve().relative_to(home.resolve()))
    except ValueError:
        return str(path.resolve())


def from_ledger(home: Path, kept: str) -> Path:
    """A path the ledger keeps, as a path here (one kept absolute stays as it was)."""
    return home / kept

"""File-mode delivery: each call written to `outbox/norce/<batch>/` exactly as it would be posted.

A master-data run's calls are staged (`NorceOutbox`) and appear in `outbox/norce/` only when
the run commits, so the outbox never shows requests of a run that died before its commit.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from etl.config.settings import NorceSettings
from etl.entities.calls import CallResult, NorceCall
from etl.norce.base import Delivery
from etl.state import staged as staging
from etl.state.atomic import TEMP_GLOB, fsync_dir, write_renamed
from etl.state.ledger.base import FeedLedger


class FileDelivery(Delivery):
    """Writes `<label>.json` (the body) and `<label>.request.json` (method, path, headers)."""

    def __init__(self, outbox: Path, settings: NorceSettings) -> None:
        self.folder = outbox / "norce"
        self.settings = settings
        self.writes_to = self.folder  # a run's staged folder, when `staged`

    def staged(self, folder: Path) -> FileDelivery:
        """This delivery writing into a run's staged folder; results name the published files."""
        twin = copy.copy(self)
        twin.writes_to = folder
        return twin

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """Write every call; a re-run of the same batch overwrites it with the same bytes."""
        folder = self.writes_to / batch
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        wanted = set()
        for call in calls:
            body = call.body_bytes()
            request = {
                "method": "POST",
                "path": f"{self.settings.connect_path}/{call.method}",
                "headers": {
                    "X-StormConnect-Header": call.header_line(),
                    "Content-Type": "application/json",
                },
                "items": len(call.items),
            }
            write_renamed(folder / f"{call.label}.json", body)
            write_renamed(
                folder / f"{call.label}.request.json", json.dumps(request, indent=2).encode()
            )
            wanted |= {f"{call.label}.json", f"{call.label}.request.json"}
            results.append(
                CallResult(
                    call.label,
                    call.method,
                    len(call.items),
                    len(body),
                    location=str(self.folder / batch / f"{call.label}.json"),
                )
            )
        for stale in folder.iterdir():
            if stale.name not in wanted:
                stale.unlink()  # left by an interrupted attempt that chunked differently
        # Each file was fsync'd before its rename; the renames are made durable once for
        # the batch (not twice per call), before the run can commit.
        fsync_dir(folder)
        return results


class NorceOutbox:
    """`outbox/norce/`, with each run's calls staged in `outbox/.norce/.<run>.part/` until it commits.

    A staged folder is laid out like `outbox/norce/` (`<feed>/<batch>/`) and sits outside it,
    so nothing there is ever seen half written or uncommitted. Publishing moves each batch into
    place, replacing a published batch of the same name (the same input, run again).
    """

    def __init__(self, outbox: Path) -> None:
        self.root = outbox / "norce"
        self.staging = outbox / ".norce"

    def stage(self, run_id: str) -> Path:
        """A fresh staged folder for the run's calls."""
        return staging.stage(self.staging, run_id)

    def publish_run(self, run_id: str) -> list[Path]:
        """After the run's commit: its batches into `outbox/norce/`; returns where they landed."""
        staged = staging.staged_path(self.staging, run_id)
        return self.publish(staged) if staged.is_dir() else []

    def publish(self, staged: Path) -> list[Path]:
        """Move each `<feed>/<batch>` of a staged folder into place, then drop the folder.

        Safe to repeat after a crash halfway: what is still staged is moved on the next try.
        """
        landed = []
        for batch in sorted(p for p in staged.glob("*/*") if p.is_dir()):
            final = self.root / batch.relative_to(staged)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                shutil.rmtree(final)
            batch.replace(final)
            landed.append(final)
        shutil.rmtree(staged)
        return landed

    def recover(self, feed: str, ledger: FeedLedger) -> list[Path]:
        """Publish what the feed's committed runs staged, drop what its dead runs staged.

        Call under the feed's lock. Another feed's folders are its own opening's to settle.
        """
        if not self.staging.is_dir():
            return []
        mine = [s for s in self.staging.glob(TEMP_GLOB) if _belongs(s, feed, ledger)]
        return staging.settle(mine, ledger, self.publish)


def _belongs(staged: Path, feed: str, ledger: FeedLedger) -> bool:
    """Whether a staged folder is this feed's (one no run knows is dead, whoever's it was)."""
    run = ledger.run(staging.run_of(staged))
    return run is None or run.feed == feed

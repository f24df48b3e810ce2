"""File-mode delivery: each call written to `outbox/norce/<batch>/` exactly as it would be posted.

A master-data run's calls are staged (`NorceOutbox`) and appear in `outbox/norce/` only when
the run commits, so the outbox never shows requests of a run that died before its commit.
With `[storage] backend = "s3"` they appear in the bucket instead (`BlobNorceOutbox`): each
batch under `<prefix>/outbox/norce/<feed>/<batch>/`, published by a create-only mark
(etl.state.blob_batches), so every machine finds every batch in one place.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from etl.config.settings import NorceSettings
from etl.entities.calls import CallResult, NorceCall
from etl.norce.base import Delivery
from etl.norce.bucket_calls import BucketCalls
from etl.state import staged as staging
from etl.state.atomic import TEMP_GLOB, fsync_dir, write_renamed
from etl.state.blob_batches import BlobBatches
from etl.state.blobs import StorageError, StorageOptions, open_blobs
from etl.state.ledger.base import FeedLedger

log = logging.getLogger(__name__)

AREA = "outbox/norce"  # keys go under "<[storage] prefix>/outbox/norce/"


class FileDelivery(Delivery):
    """Writes `<label>.json` (the body) and `<label>.request.json` (method, path, headers)."""

    def __init__(
        self, outbox: Path, settings: NorceSettings, bucket: BucketCalls | None = None
    ) -> None:
        self.folder = outbox / "norce"
        self.settings = settings
        self.writes_to = self.folder  # a run's staged folder, when `staged`
        # Unstaged calls (a document's) go to the bucket on S3; staged ones are published.
        self.bucket = bucket

    def staged(self, folder: Path) -> FileDelivery:
        """This delivery writing into a run's staged folder; results name the published files."""
        twin = copy.copy(self)
        twin.writes_to = folder
        twin.bucket = None
        return twin

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """Write every call; a re-run of the same batch overwrites it with the same bytes."""
        if self.bucket is not None:
            return [self._put(self.bucket, call, batch) for call in calls]
        folder = self.writes_to / batch
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        wanted = set()
        # One writer thread writes and fsyncs a call's files while the next call's body is
        # encoded (polars and fsync both let go of the GIL): a go-live's gigabytes of bodies
        # take the longer of the two, not their sum. One call ahead at most: two bodies held.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox") as writer:
            written: Future[None] | None = None
            for call in calls:
                try:
                    body, request = call.body_bytes(), self._request(call)
                finally:
                    # A failed write fails the delivery here, ahead of an encoding error
                    # after it: the write failed first, as it would have one call at a time.
                    if written is not None:
                        written.result()
                written = writer.submit(_write_call, folder, call.label, body, request)
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
            if written is not None:
                written.result()
        for stale in folder.iterdir():
            if stale.name not in wanted:
                stale.unlink()  # left by an interrupted attempt that chunked differently
        # Each file was fsync'd before its rename; the renames are made durable once for
        # the batch (not twice per call), before the run can commit.
        fsync_dir(folder)
        return results

    def _request(self, call: NorceCall) -> bytes:
        """The `<label>.request.json` of a call: method, path and headers as they would be posted."""
        request = {
            "method": "POST",
            "path": f"{self.settings.connect_path}/{call.method}",
            "headers": {
                "X-StormConnect-Header": call.header_line(),
                "Content-Type": "application/json",
            },
            "items": len(call.items),
        }
        return json.dumps(request, indent=2).encode()

    def _put(self, bucket: BucketCalls, call: NorceCall, batch: str) -> CallResult:
        """One unstaged call put in the bucket (its batch is one document's: a unique name)."""
        body = call.body_bytes()
        where = bucket.put(batch, call.label, body, self._request(call))
        return CallResult(call.label, call.method, len(call.items), len(body), location=where)


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

    def batches(self, feed: str) -> list[str]:
        """The feed's published batches (`<feed>/<batch>`), by name."""
        folder = self.root / feed
        found = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [f"{feed}/{name}" for name in found if not name.startswith(".")]

    def files(self, batch: str) -> dict[str, bytes]:
        """A published batch's files by name."""
        folder = self.root / batch
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class BlobNorceOutbox(NorceOutbox):
    """Runs staged locally as with `NorceOutbox`; each batch published to a blob store."""

    def __init__(self, outbox: Path, blobs: BlobBatches) -> None:
        super().__init__(outbox)
        self.store = blobs

    def publish(self, staged: Path) -> list[Path]:
        """Put each `<feed>/<batch>` of a staged folder in the store, then drop the folder.

        The run has committed: a store that fails now leaves the folder staged, with a
        WARNING, for the feed's next run on this machine to publish (`recover`).
        """
        run_id, landed = staging.run_of(staged), []
        try:
            for batch in sorted(p for p in staged.glob("*/*") if p.is_dir()):
                name = batch.relative_to(staged).as_posix()
                self.store.publish(batch, name, run_id)
                landed.append(self.root / name)
        except StorageError as exc:
            log.warning(
                "run %s committed; its requests go to object storage later: %s", run_id, exc
            )
            return []
        shutil.rmtree(staged)
        return landed

    def batches(self, feed: str) -> list[str]:
        """The feed's published (marked) batches, by name."""
        return self.store.published(feed)

    def files(self, batch: str) -> dict[str, bytes]:
        """A published batch's files by name, read from the store."""
        return self.store.files(batch)


def _write_call(folder: Path, label: str, body: bytes, request: bytes) -> None:
    """A call's body and request files, each fsync'd and renamed into place."""
    write_renamed(folder / f"{label}.json", body)
    write_renamed(folder / f"{label}.request.json", request)


def _belongs(staged: Path, feed: str, ledger: FeedLedger) -> bool:
    """Whether a staged folder is this feed's (one no run knows is dead, whoever's it was)."""
    run = ledger.run(staging.run_of(staged))
    return run is None or run.feed == feed


def open_outbox(settings: StorageOptions, outbox: Path) -> NorceOutbox:
    """The file-mode outbox the settings ask for: `outbox/norce/`, or published to S3."""
    if settings.backend == "s3":
        return BlobNorceOutbox(outbox, BlobBatches(open_blobs(settings, AREA, outbox / "norce")))
    return NorceOutbox(outbox)

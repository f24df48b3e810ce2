"""File-mode Norce outbox batches in object storage past their feed's retention.

On the disk `outbox/norce/<feed>/` files go by their modification time (etl.retention.outbox).
In the bucket (`[storage] backend = "s3"`) a batch is `<prefix>/outbox/norce/<feed>/<batch>/`
published by its mark `<batch>.published`, which names the run that published it: the batch
is as old as that run (its `finished_at` in the ledger; a run the ledger no longer knows, by
the time its id starts with). A batch past retention goes whole: its files are first listed
(name, size, SHA-256, when) in the feed's `<feed>/manifest.json` object, as on the disk, so a
purge that dies half-way loses no record; then its mark goes (the batch is unpublished), then
its files. Objects of no published batch (a document's calls and buyer numbers, put one by
one with no mark; files `migrate-state` copied) go as the disk's files do: by their last
write (the object's LastModified), each recorded in the manifest first. A dry run counts the
same way and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.dates import moment
from etl.norce.file_delivery import AREA
from etl.retention.place import Place, cutoff
from etl.runtime import ledger_at
from etl.state.areas import NAMES, Areas
from etl.state.blob_batches import MARK, BlobBatches
from etl.state.blobs import Blob, BlobNotFound, StorageError, open_blobs
from etl.state.blobs.base import join
from etl.state.ledger.connection import ledger_exists
from etl.state.ledger.feed_runs import Ledger
from etl.state.manifest import MANIFEST, Manifest, read_manifest, write_manifest

RUN_TIME = "%Y%m%dT%H%M%S%f"  # how a run id starts (etl.runtime.Runtime.new_run_id)


def purge_stored_outbox(
    settings: Settings, contracts: Mapping[str, FeedContract], now: dt.datetime, dry_run: bool
) -> list[Place]:
    """One place per feed folder of the Norce outbox in the store (none on the disk backend)."""
    if settings.storage.backend != "s3":
        return []
    area = NAMES.norce_outbox.as_posix()
    batches = BlobBatches(open_blobs(settings.storage, AREA, Areas(settings.home).outbox / "norce"))
    try:
        feeds = batches.blobs.list("").folders
    except StorageError as exc:
        place = Place(area, "files", None)
        place.skipped.append(f"object storage: {exc}")
        return [place]
    at = ledger_at(settings)
    ledger = Ledger(at) if ledger_exists(at) else None
    try:
        return [_feed(batches, ledger, contracts, feed, now, dry_run) for feed in feeds]
    finally:
        if ledger is not None:
            ledger.close()


def _feed(
    batches: BlobBatches,
    ledger: Ledger | None,
    contracts: Mapping[str, FeedContract],
    feed: str,
    now: dt.datetime,
    dry_run: bool,
) -> Place:
    """The feed's batches past its retention removed (counted, in a dry run)."""
    contract = contracts.get(feed)
    days = contract.archive.retention_days if contract else None
    place = Place(f"{NAMES.norce_outbox.as_posix()}/{feed}", "files", days)
    if contract is None:
        place.skipped.append("no feed contract names it")
    elif days is not None:
        try:
            _purge_feed(batches, ledger, feed, cutoff(now, days), now, dry_run, place)
        except StorageError as exc:
            # The store failed: what was not removed now goes with the next purge.
            place.skipped.append(f"object storage: {exc}")
    return place


def _purge_feed(
    batches: BlobBatches,
    ledger: Ledger | None,
    feed: str,
    before: dt.datetime,
    now: dt.datetime,
    dry_run: bool,
    place: Place,
) -> None:
    _purge_loose(batches, feed, before, now, dry_run, place)
    for batch in batches.published(feed):
        mark = batches.mark(batch)
        if mark is None:
            continue  # replaced or purged since the listing
        files = sorted(mark.get("files", {}))
        published = _published_at(ledger, str(mark.get("run", "")))
        if published is None or published >= before:
            place.kept += len(files)
            continue
        place.removed += len(files)
        if not dry_run:
            _remove_batch(batches, feed, batch, files, now)


def _purge_loose(
    batches: BlobBatches,
    feed: str,
    before: dt.datetime,
    now: dt.datetime,
    dry_run: bool,
    place: Place,
) -> None:
    """Objects of no published batch (documents, copied files) dated as the disk's files."""
    due = []
    for blob in _loose(batches, feed, join(feed, MANIFEST)):
        # Written once and never changed (a body is create-only): its age is its last write.
        if blob.modified is not None and blob.modified < before:
            due.append(blob.key)
        else:
            place.kept += 1
    place.removed += len(due)
    if dry_run or not due:
        return
    entries = [_entry(batches, key, key.removeprefix(feed + "/"), now) for key in due]
    _record(batches, join(feed, MANIFEST), [e for e in entries if e is not None])
    for key in due:
        batches.blobs.delete(key)


def _loose(batches: BlobBatches, prefix: str, manifest: str) -> Iterator[Blob]:
    """Every object under `prefix` but marks, their batches' files and the feed's manifest."""
    listing = batches.blobs.list(prefix)
    marked = {b.name.removesuffix(MARK) for b in listing.blobs if b.name.endswith(MARK)}
    for blob in listing.blobs:
        if not blob.name.endswith(MARK) and blob.key != manifest:
            yield blob
    for sub in listing.folders:
        if sub not in marked:  # a published batch goes whole, by its run's time
            yield from _loose(batches, join(prefix, sub), manifest)


def _published_at(ledger: Ledger | None, run_id: str) -> dt.datetime | None:
    """When the run that published a batch finished (or started, if the ledger forgot it)."""
    run = ledger.run(run_id) if ledger is not None and run_id else None
    finished = moment(run.finished_at) if run is not None and run.finished_at else None
    if finished is not None:
        return finished
    try:
        return dt.datetime.strptime(run_id[:18], RUN_TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        return None  # no time to go by: kept


def _remove_batch(
    batches: BlobBatches, feed: str, batch: str, files: list[str], now: dt.datetime
) -> None:
    """Record the batch's files in the feed's manifest, then unpublish and delete them."""
    prefix = batch.removeprefix(feed + "/")
    entries = [_entry(batches, join(batch, n), join(prefix, n), now) for n in files]
    _record(batches, join(feed, MANIFEST), [e for e in entries if e is not None])
    batches.blobs.delete(batch + MARK)
    for name in files:
        batches.blobs.delete(join(batch, name))


def _entry(batches: BlobBatches, key: str, name: str, now: dt.datetime) -> dict[str, Any] | None:
    try:
        data = batches.blobs.read(key)
    except BlobNotFound:
        return None  # a purge cut short removed it already, and recorded it
    return {
        "name": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "purged_at": now.isoformat(timespec="seconds"),
    }


def _record(batches: BlobBatches, key: str, entries: list[dict[str, Any]]) -> None:
    """Append to the feed's manifest object before anything goes: a crash loses no record."""
    with tempfile.TemporaryDirectory(prefix="etl-purge-") as temp:
        local = Path(temp) / MANIFEST
        try:
            batches.blobs.get_file(key, local)
            doc = read_manifest(local)
        except BlobNotFound:
            doc = Manifest()
        # The entries read go back as read: a later version's keys in them are kept.
        write_manifest(local, doc.updated(purged=[*(doc.purged or []), *entries]))
        batches.blobs.put_file(key, local)

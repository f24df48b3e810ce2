"""Removed people's snapshot rows: their values dropped once their removal is past retention.

A snapshot keeps the rows the ERP stopped sending as `inactive`, so a returning row is a
reactivation and a removal is never sent twice. For people (customers, companies) that row
holds names, e-mails and phones for ever. Past the feed's `[archive] retention_days` every
non-key field of such a row is nulled in the current snapshot: the key and the `inactive`
state stay, so the diff still knows the row is gone and was deactivated (nothing is sent
again), and a person who comes back is a reactivation that sends all their fields.

When was a row deactivated? The snapshot does not say. The purge keeps a record per feed
(`state/retention/<feed>.parquet`: key, `inactive_since`, the row's HMAC-SHA-256 once
reduced, keyed by the privacy salt, `purged_at`); `forget` clears the person's HMAC. A row
first seen inactive gets the time of the commit that wrote the current
snapshot: it was deactivated then or earlier, so it is never reduced too soon, at worst one
purge interval late.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.dates import moment
from etl.entities import DocumentEntity
from etl.models import GONE, STATE
from etl.privacy import audit
from etl.retention.place import Place, cutoff
from etl.runtime import ledger_at
from etl.state.areas import Areas
from etl.state.atomic import atomic_path
from etl.state.blob_snapshots import BlobSnapshotStore, open_snapshots
from etl.state.blobs import StorageError
from etl.state.ledger.feed_runs import Ledger
from etl.state.locks import feed_lock
from etl.state.snapshots import SnapshotStore

SINCE, ROW_SHA, PURGED_AT = "inactive_since", "row_sha256", "purged_at"


def is_about_people(contract: FeedContract) -> bool:
    """A snapshot feed whose rows are people or their companies (the entity says so)."""
    entity = contract.entity
    return entity.personal is not None and not isinstance(entity, DocumentEntity)


def reduce_removed_rows(
    settings: Settings, ledger: Ledger, contract: FeedContract, now: dt.datetime, dry_run: bool
) -> Place:
    """Null the fields of the feed's inactive rows removed longer ago than its retention."""
    days = contract.archive.retention_days
    place = Place(f"snapshots/{contract.name}", "rows", days, "reduce")
    current = ledger.current_snapshot(contract.name)
    if days is None or current is None:
        return place
    relative, run_id, _rows = current
    run = ledger.run(run_id)
    written = moment(run.finished_at if run else None) or moment(now.isoformat())
    assert written is not None
    areas = Areas(settings.home)
    # A feed read from another feed's file runs under that family's lock (as approve takes it).
    family = contract.source.from_feed or contract.name
    with feed_lock(areas.locks, family) as taken:
        if not taken:
            place.skipped.append("the feed is running; next purge")
            return place
        try:
            _reduce_current(settings, contract, relative, written, now, dry_run, place)
        except StorageError as exc:
            # The object store is down: the rows wait for the next purge, nothing half done.
            place.skipped.append(f"object storage: {exc}")
    return place


def _reduce_current(
    settings: Settings,
    contract: FeedContract,
    relative: str,
    written: dt.datetime,
    now: dt.datetime,
    dry_run: bool,
    place: Place,
) -> None:
    """Under the feed's lock: count (and unless `dry_run`, null) the due rows of `relative`."""
    areas = Areas(settings.home)
    # The store the settings ask for: on S3 the local file is only a cache of the object,
    # so the object is read (fetched when this machine has no copy) and rewritten too.
    store = open_snapshots(settings.storage, areas.snapshots, ledger_at(settings))
    with _used_copy(store, relative) as path:
        frame = pl.read_parquet(path, glob=False)
        _reduce_frame(settings, contract, (frame, written, now), dry_run, place, store, relative)


@contextmanager
def _used_copy(store: SnapshotStore, relative: str) -> Iterator[Path]:
    """The snapshot's local file; on S3 a copy fetched for this purge only goes afterwards.

    A copy of people's rows is not kept on a machine past its use (a worker that diffs the
    feed has its own copy already, and keeps it).
    """
    cached = (store.root / relative).is_file()
    try:
        yield store.path(relative)
    finally:
        if isinstance(store, BlobSnapshotStore) and not cached:
            store.drop_copy(relative)


def _reduce_frame(
    settings: Settings,
    contract: FeedContract,
    read: tuple[pl.DataFrame, dt.datetime, dt.datetime],
    dry_run: bool,
    place: Place,
    store: SnapshotStore,
    relative: str,
) -> None:
    """Count (and unless `dry_run`, null) the due rows; `read`: the frame, its time, now."""
    frame, written, now = read
    areas = Areas(settings.home)
    days = place.retention_days
    assert days is not None
    key = list(contract.key_fields)
    record = _track(_record(settings, contract.name, frame, key), frame, key, written)
    due = _due(record, cutoff(now, days))
    place.removed, place.kept = due.height, record.height - due.height - _done(record)
    if dry_run:
        return
    if due.height:
        salt = audit.salt(areas.privacy)
        reduced, record = _reduce(frame, record, due, key, now, salt)
        store.replace(relative, reduced)
    # Written every time: a time first seen now must not move with the next commit.
    _write_record(settings, contract.name, record)


def _record_path(settings: Settings, feed: str) -> Path:
    return Areas(settings.home).retention / f"{feed}.parquet"


def _record(settings: Settings, feed: str, frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The feed's record (empty the first time), with the snapshot's key types."""
    path = _record_path(settings, feed)
    empty = (
        frame.select(key)
        .clear()
        .with_columns(pl.lit(None, pl.String).alias(c) for c in (SINCE, ROW_SHA, PURGED_AT))
    )
    if not path.exists():
        return empty
    return pl.concat(
        [empty, pl.read_parquet(path, glob=False).select(empty.columns)], how="vertical_relaxed"
    )


def _track(
    record: pl.DataFrame, frame: pl.DataFrame, key: list[str], written: dt.datetime
) -> pl.DataFrame:
    """The record for today's inactive rows: kept times for known ones, `written` for new ones.

    A row active again is dropped from the record; if it goes again it starts over. A row
    reduced once that holds values again came back and went between two purges: its entry
    starts over too (removed by `written` at the latest), or it would keep them for ever.
    """
    fields = [c for c in frame.columns if c not in key and c != STATE]
    holds = pl.any_horizontal(pl.col(f).is_not_null() for f in fields) if fields else pl.lit(False)
    # Dormant rows too: never active in Norce from us, kept only to tell a return.
    inactive = frame.filter(pl.col(STATE).is_in(GONE)).select(*key, holds.alias("__holds"))
    again = pl.col(PURGED_AT).is_not_null() & pl.col("__holds")
    since = written.isoformat(timespec="seconds")
    return (
        inactive.join(record, on=key, how="left", nulls_equal=True)
        .with_columns(
            pl.when(again).then(pl.lit(since)).otherwise(pl.col(SINCE)).alias(SINCE),
            *(
                pl.when(again).then(None).otherwise(pl.col(c)).alias(c)
                for c in (ROW_SHA, PURGED_AT)
            ),
        )
        .with_columns(pl.col(SINCE).fill_null(since))
        .drop("__holds")
    )


def _due(record: pl.DataFrame, before: dt.datetime) -> pl.DataFrame:
    since = pl.col(SINCE).str.to_datetime(time_zone="UTC")
    return record.filter(pl.col(PURGED_AT).is_null() & (since < before))


def _done(record: pl.DataFrame) -> int:
    return record.filter(pl.col(PURGED_AT).is_not_null()).height


def _reduce(
    frame: pl.DataFrame,
    record: pl.DataFrame,
    due: pl.DataFrame,
    key: list[str],
    now: dt.datetime,
    salt: bytes,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The snapshot with the due rows' fields nulled, and the record with their hashes."""
    mark = "__due"
    flagged = frame.join(
        due.select(key).with_columns(pl.lit(True).alias(mark)), on=key, how="left", nulls_equal=True
    )
    hit = pl.col(mark).fill_null(False)
    fields = [c for c in frame.columns if c not in key and c != STATE]
    hashes = flagged.filter(hit).select(
        *key,
        pl.struct(*frame.columns)
        .map_elements(lambda row: _row_hmac(salt, row), return_dtype=pl.String)
        .alias("__h"),
    )
    reduced = flagged.with_columns(
        pl.when(hit).then(None).otherwise(pl.col(f)).alias(f) for f in fields
    ).select(frame.columns)
    stamp = now.isoformat(timespec="seconds")
    record = (
        record.join(hashes, on=key, how="left", nulls_equal=True)
        .with_columns(
            pl.coalesce(ROW_SHA, "__h").alias(ROW_SHA),
            pl.when(pl.col("__h").is_not_null())
            .then(pl.lit(stamp))
            .otherwise(PURGED_AT)
            .alias(PURGED_AT),
        )
        .drop("__h")
    )
    return reduced, record


def _row_hmac(salt: bytes, row: dict[str, object]) -> str:
    """HMAC-SHA-256 of the row as it was, keyed by the privacy salt: proof of what was removed.

    Keyed, not a bare SHA-256: next to the key, a plain hash of a row lets anyone holding a
    guess of its values confirm it.
    """
    text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
    return hmac.new(salt, text.encode(), hashlib.sha256).hexdigest()


def forget_row_hashes(folder: Path, keys: set[str]) -> int:
    """Clear the row HMAC of every record entry whose key is one of `keys`; how many."""
    cleared = 0
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else ():
        record = pl.read_parquet(path, glob=False)
        columns = [c for c in record.columns if c not in (SINCE, ROW_SHA, PURGED_AT)]
        hit = pl.any_horizontal(pl.col(c).cast(pl.String).is_in(sorted(keys)) for c in columns)
        n = record.filter(hit & pl.col(ROW_SHA).is_not_null()).height
        if n:
            record = record.with_columns(
                pl.when(hit).then(None).otherwise(pl.col(ROW_SHA)).alias(ROW_SHA)
            )
            with atomic_path(path) as temp:
                record.write_parquet(temp)
            cleared += n
    return cleared


def _write_record(settings: Settings, feed: str, record: pl.DataFrame) -> None:
    path = _record_path(settings, feed)
    with atomic_path(path) as temp:
        record.write_parquet(temp)

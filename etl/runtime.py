"""The edges a flow works with, opened once from settings and passed down."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl.config.settings import Settings
from etl.entities.calls import CallResult, NorceCall
from etl.errors import EtlError
from etl.norce.base import Delivery
from etl.norce.client import NorceClient
from etl.norce.file_delivery import FileDelivery, NorceOutbox, open_outbox
from etl.norce.http_delivery import HttpDelivery
from etl.state.areas import FILE_AREAS, Areas, FileArea
from etl.state.atomic import TEMP_GLOB
from etl.state.base import Archive
from etl.state.blob_archive import open_archive
from etl.state.blob_snapshots import open_snapshots
from etl.state.blob_spool import open_spool
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.norce_tokens import SharedTokens
from etl.state.ledger.postgres import PostgresAt
from etl.state.migrate.moving import UNFINISHED, unfinished_move
from etl.state.snapshots import SnapshotStore
from etl.state.spool_base import BodySpool
from etl.state.staged import remove, untouched_since
from etl.transport import open_store
from etl.transport.base import Store

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]

# One body written and fsync'd takes seconds; a temp file untouched this long has no writer.
DEAD_TEMP_SECONDS = 3600.0


def ledger_at(settings: Settings) -> LedgerAt:
    """Where the ledger is: [state]'s PostgreSQL database, else state/ledger.sqlite."""
    if settings.state.backend == "postgresql" and settings.state.dsn is not None:
        return PostgresAt(settings.state.dsn.get_secret_value())
    return Areas(settings.home).ledger


def _shared_tokens(at: LedgerAt) -> SharedTokens | None:
    # On PostgreSQL every process of every machine shares Norce's token (3 fetches a minute
    # per IP); on SQLite, one VM, each client keeps its own.
    return SharedTokens(at) if isinstance(at, PostgresAt) else None


def utc_now() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


class MoveUnfinished(EtlError):
    """`run.py migrate-state` put state into this bucket and has not finished."""


def _refuse_an_unfinished_move(settings: Settings) -> None:
    """Refuse to run on a bucket a move is still filling (etl.state.migrate.moving).

    Half-way, the bucket holds the VM's spooled orders and the PostgreSQL ledger nothing:
    a run would book and export them again, and write rows that make the move refuse to finish.
    """
    if unfinished_move(settings.storage, settings.home):
        raise MoveUnfinished(UNFINISHED)


@dataclass
class Runtime:
    """Ledger, snapshots, archive, stores and delivery for one process."""

    settings: Settings
    ledger: Ledger
    snapshots: SnapshotStore
    archive: Archive
    delivery: Delivery
    outbox: NorceOutbox
    clock: Clock = utc_now
    sleep: Callable[[float], None] = time.sleep
    _owns_delivery: bool = True
    _stores: dict[str, Store] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Runtime:
        """Open every edge the settings describe (MoveUnfinished while a move is half-way)."""
        _refuse_an_unfinished_move(settings)
        areas = Areas(settings.home)
        # File times are the wall clock's, so they are compared with it, not with `clock`.
        _sweep_receiver_temp(areas, time.time())
        at = ledger_at(settings)
        return cls(
            settings=settings,
            ledger=Ledger(at),
            # [storage] backend: local folders, or S3 (the snapshots' folder is its cache)
            snapshots=open_snapshots(settings.storage, areas.snapshots, at),
            archive=open_archive(settings.storage, areas.archive),
            delivery=_delivery(settings),
            outbox=open_outbox(settings.storage, areas.outbox),
            clock=clock,
            sleep=sleep,
        )

    def shared_tokens(self) -> SharedTokens | None:
        """Norce's token as every process of this PostgreSQL ledger shares it; None on SQLite."""
        return _shared_tokens(self.ledger.at)

    @property
    def areas(self) -> Areas:
        """The folders under the settings' home."""
        return Areas(self.settings.home)

    @property
    def inbox(self) -> Path:
        """Fetched files not yet committed."""
        return self.areas.inbox

    @property
    def locks(self) -> Path:
        """Per-feed lock files."""
        return self.areas.locks

    def store(self, name: str) -> Store:
        """The named store, connected on first use and reused."""
        if name not in self._stores:
            self._stores[name] = open_store(name, self.settings.stores[name])
        return self._stores[name]

    def spool(self, area: FileArea) -> BodySpool:
        """The received bodies of `area` where `[storage]` keeps them (disk or object storage)."""
        return open_spool(self.settings.storage, self.areas, area)

    def stamp(self) -> str:
        """Now as an ISO-8601 UTC timestamp."""
        return self.clock().isoformat(timespec="seconds")

    def day(self) -> str:
        """Today's date, for archive folders."""
        return self.clock().date().isoformat()

    def new_run_id(self, feed: str, tag: str) -> str:
        """A run id that sorts by time and says what it was: 20261122T101500123-products-3f2a9c1b."""
        return f"{self.clock():%Y%m%dT%H%M%S%f}"[:-3] + f"-{feed}-{tag[:8]}"

    def deliver(self, run_id: str, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """A run's calls to Norce; in file mode staged, shown in `outbox/norce/` by `publish`."""
        delivery = self.delivery
        if isinstance(delivery, FileDelivery):
            delivery = delivery.staged(self.outbox.stage(run_id))
        return delivery.deliver(calls, batch)

    def publish(self, run_id: str) -> None:
        """After the run's commit: show what it delivered in file mode (`recover` redoes it)."""
        try:
            self.outbox.publish_run(run_id)
        except OSError as exc:
            # The run is committed: failing it now would make `recover` drop what it delivered.
            log.warning("run %s committed; its requests go to the outbox later: %s", run_id, exc)

    def recover(self, feed: str) -> None:
        """Tidy what dead runs of `feed` left; call under its lock, after `interrupt_stale`.

        What committed runs staged (archive folder, outbox batch) is published, the rest is
        dropped. Temp files go too: only runs of the feed write these places, and while its
        lock is held none of them is running, so each such file is provably dead.
        """
        self.archive.recover(feed, self.ledger)
        self.outbox.recover(feed, self.ledger)
        self.snapshots.drop_unfinished(feed)
        remove(self.areas.feed_inbox(feed).glob(".*"))  # downloads, re-encoded, expanded copies
        batches = self.outbox.root / feed  # documents, approvals: written in place
        temps = [*batches.glob(TEMP_GLOB), *batches.glob(f"*/{TEMP_GLOB}")]
        remove(p for p in temps if p.is_file())

    def pause_while_reading(self) -> None:
        """Fault-injection point for crash tests (settings.pause_while_reading_seconds)."""
        if self.settings.pause_while_reading_seconds:
            self.sleep(self.settings.pause_while_reading_seconds)

    def pause_before_commit(self) -> None:
        """Fault-injection point for crash tests (settings.pause_before_commit_seconds)."""
        if self.settings.pause_before_commit_seconds:
            self.sleep(self.settings.pause_before_commit_seconds)

    def fork(self) -> Runtime:
        """A runtime for another thread: its own ledger connection and store connections.

        SQLite connections and SFTP sessions must not be shared between threads; the
        delivery (an httpx client with a locked token cache) and the folders can be.
        """
        return Runtime(
            settings=self.settings,
            ledger=Ledger(self.ledger.at),
            snapshots=self.snapshots,
            archive=self.archive,
            delivery=self.delivery,
            outbox=self.outbox,
            clock=self.clock,
            sleep=self.sleep,
            _owns_delivery=False,
        )

    def close(self) -> None:
        """Close stores, the ledger and (when this runtime opened it) the delivery."""
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        closer = getattr(self.delivery, "close", None)
        if self._owns_delivery and callable(closer):
            closer()
        self.ledger.close()


def _sweep_receiver_temp(areas: Areas, now: float) -> None:
    """Remove temp files a dead writer left in the receiver's folders, judged by age.

    The receiver (its own process) and the order poll write its spools and refused bodies
    through temp files under no lock another process could take: it may be writing one right
    now, perhaps in another container, where the pid in the name means nothing here. Only a
    file no one has written to for `DEAD_TEMP_SECONDS` is provably abandoned.
    """
    cutoff = now - DEAD_TEMP_SECONDS
    for area in FILE_AREAS:
        for folder in (areas.spool(area), areas.refused(area)):
            remove(untouched_since(folder, TEMP_GLOB, cutoff))


def _delivery(settings: Settings) -> Delivery:
    if settings.norce.mode == "http":
        client = NorceClient(settings.norce, shared=_shared_tokens(ledger_at(settings)))
        return HttpDelivery(client, settings.norce)
    return FileDelivery(Areas(settings.home).outbox, settings.norce)

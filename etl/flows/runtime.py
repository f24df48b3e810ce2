"""The edges a flow works with, opened once from settings and passed down."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etl.archive import Archive
from etl.ledger import Ledger
from etl.norce.calls import Delivery
from etl.norce.file_delivery import FileDelivery
from etl.settings import Settings
from etl.snapshots import SnapshotStore
from etl.transport import open_store
from etl.transport.base import Store

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """Ledger, snapshots, archive, stores and delivery for one process."""

    settings: Settings
    ledger: Ledger
    snapshots: SnapshotStore
    archive: Archive
    delivery: Delivery
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
        """Open every edge the settings describe."""
        state = settings.folder("state")
        return cls(
            settings=settings,
            ledger=Ledger(state / "ledger.sqlite"),
            snapshots=SnapshotStore(state / "snapshots"),
            archive=Archive(settings.folder("archive")),
            delivery=_delivery(settings),
            clock=clock,
            sleep=sleep,
        )

    @property
    def inbox(self) -> Path:
        """Fetched files not yet committed."""
        return self.settings.folder("inbox")

    @property
    def locks(self) -> Path:
        """Per-feed lock files."""
        return self.settings.folder("state") / "locks"

    def store(self, name: str) -> Store:
        """The named store, connected on first use and reused."""
        if name not in self._stores:
            self._stores[name] = open_store(name, self.settings.stores[name])
        return self._stores[name]

    def stamp(self) -> str:
        """Now as an ISO-8601 UTC timestamp."""
        return self.clock().isoformat(timespec="seconds")

    def day(self) -> str:
        """Today's date, for archive folders."""
        return self.clock().date().isoformat()

    def new_run_id(self, feed: str, tag: str) -> str:
        """A run id that sorts by time and says what it was: 20261122T101500123-products-3f2a9c1b."""
        return f"{self.clock():%Y%m%dT%H%M%S%f}"[:-3] + f"-{feed}-{tag[:8]}"

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
            ledger=Ledger(self.ledger.path),
            snapshots=self.snapshots,
            archive=self.archive,
            delivery=self.delivery,
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


def _delivery(settings: Settings) -> Delivery:
    if settings.norce.mode == "http":
        from etl.norce.client import NorceClient
        from etl.norce.http_delivery import HttpDelivery

        return HttpDelivery(NorceClient(settings.norce), settings.norce)
    return FileDelivery(settings.folder("outbox"), settings.norce)

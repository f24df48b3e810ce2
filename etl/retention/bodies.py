"""Spooled order and party bodies, and the document book's bodies, past their retention.

- `state/spool/orders/`: a body goes once its order's last export to the ERP is older than
  `[archive] orders_retention_days`; the order book keeps ref, hash and states, and the
  spool a tombstone (`run.py orders show` and `resend` say the body is gone).
- `state/spool/parties/`: a customer or company event body goes the same time after its
  event was settled (exported, gone or held) for every layout.
- the document book (ledger): a sent or refused document older than its feed's
  `[archive] retention_days` keeps its number, hash and states; its body is dropped. The
  dedupe is by hash, so a document file dropped again is still recognised as sent.

The spools are read where `[storage]` keeps them (etl.state.blob_spool.open_spool): on object
storage a tombstone is an object of its own, put before the body is deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.dates import moment
from etl.entities import DocumentEntity
from etl.privacy.needed import note_buyers
from etl.privacy.person import buyers
from etl.privacy.rejected_rows import remove_leftover_reads
from etl.retention.place import Place, cutoff
from etl.runtime import ledger_at
from etl.state.areas import SPOOL_LOCK, Areas, FileArea
from etl.state.blob_spool import open_spool
from etl.state.ledger.connection import LedgerAt, ledger_exists
from etl.state.locks import feed_lock
from etl.state.spool_base import BodySpool
from etl.state.spool_copies import remove_leftover_copies
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.parties.book import PartyBook
from etl.to_norce.documents.book import DocumentBook


def purge_spools(settings: Settings, now: dt.datetime, dry_run: bool) -> list[Place]:
    """Order and party bodies whose export is older than the orders' retention."""
    days = settings.archive.orders_retention_days
    areas, at = Areas(settings.home), ledger_at(settings)
    if not dry_run:
        _remove_killed_forgets_copies(areas)
    places = []
    books: tuple[tuple[FileArea, type[OrderBook | PartyBook]], ...] = (
        ("orders", OrderBook),
        ("parties", PartyBook),
    )
    for area, book_type in books:
        place = Place(f"spool/{area}", "bodies", days)
        places.append(place)
        if days is None or not ledger_exists(at):
            continue
        book = book_type(at)
        try:
            settled = (
                book.exported_bodies()
                if isinstance(book, OrderBook)
                else book.settled_spool_names(_party_subjects(settings))
            )
        finally:
            book.close()
        spool = open_spool(settings.storage, areas, area)
        keep = _buyer_keeper(at, areas.privacy, spool) if area == "orders" else None
        with feed_lock(areas.locks, SPOOL_LOCK) as taken:
            if not taken:  # `forget` is masking the spools: a body read now may be half-done
                place.skipped.append("forget is running; next purge")
                continue
            _remove(spool, settled, cutoff(now, days), now, dry_run, place, keep)
    return places


def _remove_killed_forgets_copies(areas: Areas) -> None:
    """Bodies a killed `forget` copied out of object storage, and its copies of the inputs of
    rejected rows (etl.privacy.rejected_rows): gone, unless forget runs now."""
    with feed_lock(areas.locks, SPOOL_LOCK) as taken:
        if taken:
            remove_leftover_copies(areas)
            remove_leftover_reads(areas)


def _party_subjects(settings: Settings) -> dict[str, str]:
    """Each party layout's subject (customer or company): every one must settle an event."""
    return {n: layout.subject.name for n, layout in load_layouts(settings, "parties").items()}


def _remove(
    spool: BodySpool,
    settled: list[tuple[str, str]],
    before: dt.datetime,
    now: dt.datetime,
    dry_run: bool,
    place: Place,
    before_removal: Callable[[str], None] | None = None,
) -> None:
    stamp = now.isoformat(timespec="seconds")
    # One listing, not a look per body: on object storage each look is a request.
    kept = set(spool.names()) if settled else set()
    for name, at in settled:
        if name not in kept:
            continue  # removed before, or never written (a recovered body)
        when = moment(at)
        if when is None or when >= before:
            place.kept += 1
            continue
        place.removed += 1
        if not dry_run:
            if before_removal is not None:
                before_removal(name)
            spool.remove_body(name, stamp, place.retention_days or 0)


def _buyer_keeper(ledger: LedgerAt, privacy: Path, spool: BodySpool) -> Callable[[str], None]:
    """Before an order body goes: note its buyer, so `forget` still finds the order."""

    def keep(name: str) -> None:
        book = OrderBook(ledger)
        try:
            ref = book.ref_of_body(name)
        finally:
            book.close()
        if ref is not None:
            note_buyers(ledger, privacy, ref, buyers(name, spool.read(name)))

    return keep


def purge_documents(
    settings: Settings, contracts: Mapping[str, FeedContract], now: dt.datetime, dry_run: bool
) -> list[Place]:
    """Bodies of settled documents of every document feed, by the feed's retention."""
    at = ledger_at(settings)
    feeds = [c for c in contracts.values() if isinstance(c.entity, DocumentEntity)]
    if not feeds or not ledger_exists(at):
        return []
    book = DocumentBook(at)
    places = []
    try:
        for contract in feeds:
            days = contract.archive.retention_days
            place = Place(f"documents/{contract.name}", "bodies", days, "reduce")
            places.append(place)
            if days is not None:
                place.removed = book.reduce_bodies(
                    contract.name, cutoff(now, days), now.isoformat(timespec="seconds"), dry_run
                )
    finally:
        book.close()
    return places

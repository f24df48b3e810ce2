"""`run.py trace` of an order ref or a document number: its events, newest first.

An order's events come from the order book (etl.to_erp.orders.history: bodies, holds,
exports and the documents sent for it). A document's come from the document book (its
state, its last message) and from each document run's manifest, which lists every document
the run read with its lines and outcome. Nothing here writes: the document book is read on
a read-only connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.dates import moment
from etl.state.areas import from_ledger
from etl.state.base import Archive
from etl.state.blobs import StorageError
from etl.state.ledger.base import FeedLedger
from etl.state.ledger.catalog import has_table
from etl.state.ledger.connection import LedgerAt, ledger_exists, read_only
from etl.state.manifest import ManifestError
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.history import OrderStory, order_story

_ALL_RUNS = 1_000_000
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Event:
    """One thing that happened to an order or a document, at a time."""

    at: str | None
    what: str  # received | held | released | exported | document | read | book
    detail: str
    run_id: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class SubjectTrail:
    """An order's or a document's events, newest first."""

    kind: str  # order | document
    ref: str
    state: str | None
    events: list[Event]


def trace_order(ledger: LedgerAt, ref: str) -> SubjectTrail | None:
    """The order's events; None when the order book has no such ClientOrderRef."""
    if not ledger_exists(ledger):
        return None
    book = OrderBook(ledger)
    try:
        story = order_story(book, ref)
    finally:
        book.close()
    if story is None:
        return None
    return SubjectTrail("order", ref, story.order.state, _newest_first(_order_events(story)))


def _order_events(story: OrderStory) -> Iterable[Event]:
    for body in story.bodies:
        how = "its own body" if body.number == 1 else f"body {body.number}, kept for review"
        yield Event(body.received_at, "received", f"{how} ({body.kind}, sha256 {body.sha256[:16]})")
    for hold in story.holds:
        yield Event(hold.held_at, "held", hold.reason)
        if hold.released_at:
            yield Event(hold.released_at, "released", f"by {hold.released_by or 'an operator'}")
    for export in story.exports:
        again = f", resend {export.generation - 1}" if export.generation > 1 else ""
        yield Event(
            export.finished_at or export.created_at,
            "exported",
            f"layout {export.layout}: {export.state}{again}",
            file=export.file_name,
        )
    for doc in story.documents:
        said = f": {doc.message}" if doc.message else ""
        yield Event(doc.updated_at, "document", f"{doc.kind} {doc.number} {doc.state}{said}")


def trace_document(
    archive: Archive,
    home: Path,
    ledger: FeedLedger,
    book: LedgerAt,
    contracts: Iterable[FeedContract],
    number: str,
) -> SubjectTrail | None:
    """A document's events: each run that read it, its state in the book at `book`; or None."""
    events = [e for c in contracts for e in _document_runs(archive, home, ledger, c, number)]
    booked = _booked(book, number)
    events += [Event(at, "book", detail, run_id=run) for at, detail, run, _ in booked]
    if not events:
        return None
    state = booked[0][3] if booked else None
    return SubjectTrail("document", number, state, _newest_first(events))


def _document_runs(
    archive: Archive, home: Path, ledger: FeedLedger, contract: FeedContract, number: str
) -> Iterable[Event]:
    """The document in each archived run of one document feed, from the run's manifest."""
    for run in ledger.runs(contract.name, _ALL_RUNS):
        if run.archive_dir is None:
            continue
        try:
            manifest = archive.read_manifest(from_ledger(home, run.archive_dir))
        except (OSError, ManifestError, StorageError):
            continue
        name = manifest.input.name if manifest.input else None
        for doc in manifest.documents or []:
            if doc.number == number:
                lines = ", ".join(str(n) for n in doc.lines)
                said = f": {doc.message}" if doc.message else ""
                detail = f"{contract.name}: {doc.kind} {doc.outcome} (line {lines}){said}"
                yield Event(manifest.finished_at, "read", detail, run.run_id, name)


def _booked(at: LedgerAt, number: str) -> list[tuple[str, str, str, str]]:
    """(updated_at, detail, run, state) of each document book row with this number."""
    db = read_only(at)
    if db is None:
        return []
    with closing(db):
        if not has_table(db, "documents"):
            return []
        rows = db.execute(
            "SELECT updated_at, kind, state, attempts, message, run_id, client_order_ref, "
            "erp_order_no FROM documents WHERE doc_no=? ORDER BY kind",
            (number,),
        ).fetchall()
    return [(r[0], _book_line(r), r[5], r[2]) for r in rows]


def _book_line(row: tuple[str, ...]) -> str:
    _, kind, state, attempts, message, _, order, erp = row
    of = f" for order {order}" if order is not None else ""
    erp_no = f" (ERP order {erp})" if erp else ""
    said = f": {message}" if message else ""
    return f"{kind} {state}{of}{erp_no} after {attempts} attempt(s){said}"


def _newest_first(events: Iterable[Event]) -> list[Event]:
    """Newest first; events of the same moment in reverse of the order they happened."""
    ordered = sorted(enumerate(events), key=lambda pair: (_second(pair[1].at), pair[0]))
    return [event for _, event in reversed(ordered)]


def _second(at: str | None) -> dt.datetime:
    """The whole second of a time: the books write some with milliseconds, some without
    (a release stamped 12:00:05 came after a hold at 12:00:05.300), so within a second the
    order events were made in (their life's order) decides."""
    return (moment(at) or _NEVER).replace(microsecond=0)

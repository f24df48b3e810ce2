"""`run.py trace KEY [--feed F] [--json]`: what happened to a row, an order or a document.

KEY is looked up as a master-data key in every master-data feed (or the one --feed names),
as an order's ClientOrderRef in the order book and as a document number in the document
feeds. The ledger is opened only when it exists: tracing never creates one.
"""

from __future__ import annotations

import argparse

from etl.commands.json_views import dump
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.console.trace import FeedTrail, trace_feed
from etl.console.trace_orders import SubjectTrail, trace_document, trace_order
from etl.console.trace_text import as_document, render_text
from etl.entities import DocumentEntity
from etl.errors import EtlError
from etl.runtime import ledger_at
from etl.state.areas import Areas
from etl.state.blob_archive import AREA as ARCHIVE_AREA
from etl.state.blob_archive import open_archive
from etl.state.blobs import StorageError, open_blobs
from etl.state.ledger.connection import ledger_exists
from etl.state.ledger.feed_runs import Ledger


def add_trace_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `trace` on the CLI's subparsers."""
    trace = sub.add_parser(
        "trace",
        help="what happened to a key (a SKU, a price's SKU, a customer code), an order ref or "
        "a document number: every run that touched it, newest first, from the ledger and archive",
    )
    trace.add_argument(
        "key", metavar="KEY", help="a key as reports write it (parts joined by ' / '), or its start"
    )
    trace.add_argument("--feed", help="only this feed")
    trace.add_argument("--json", action="store_true", help="one JSON document instead of text")
    trace.set_defaults(handler=trace_command)


def trace_command(
    args: argparse.Namespace, settings: Settings, contracts: dict[str, FeedContract]
) -> int:
    """Print the key's trail; exit 1 when nothing at all was found."""
    if args.feed is not None and args.feed not in contracts:
        raise EtlError(f"no feed {args.feed!r} (see `run.py feeds`)")
    chosen = [contracts[args.feed]] if args.feed else list(contracts.values())
    feeds, subjects = _trails(settings, chosen, args.key, whole=args.feed is None)
    if args.json:  # versioned like every --json document
        print(dump(as_document(args.key, feeds, subjects)))
    else:
        print(render_text(args.key, feeds, subjects))
    return 0 if any(f.steps for f in feeds) or subjects else 1


def _trails(
    settings: Settings, chosen: list[FeedContract], key: str, *, whole: bool
) -> tuple[list[FeedTrail], list[SubjectTrail]]:
    """The master-data feeds' trails, then the order and the document of that name."""
    at = ledger_at(settings)
    if not ledger_exists(at):
        return [], []
    documents = [c for c in chosen if isinstance(c.entity, DocumentEntity)]
    masterdata = [c for c in chosen if not isinstance(c.entity, DocumentEntity)]
    if chosen:
        _check_bucket(settings)
    # The runs' folders are read through the archive: on the disk, or in object storage.
    archive = open_archive(settings.storage, Areas(settings.home).archive)
    home, ledger = settings.home, Ledger(at)
    try:
        feeds = [trace_feed(archive, home, ledger, c, key) for c in masterdata]
        found = trace_document(archive, home, ledger, at, documents, key) if documents else None
    finally:
        ledger.close()
    order = trace_order(at, key) if whole else None
    return feeds, [s for s in (order, found) if s is not None]


def _check_bucket(settings: Settings) -> None:
    """Refuse to trace from a bucket that cannot be reached, rather than answer "nothing found".

    Every run folder would read as missing and the key as never seen; one listing first tells
    an outage from an empty trail.
    """
    storage = settings.storage
    if storage.backend != "s3":
        return
    try:
        open_blobs(storage, ARCHIVE_AREA, Areas(settings.home).archive).list("")
    except StorageError as exc:
        # Bucket and endpoint only: the key and secret never go into a message.
        where = storage.endpoint_url or "AWS S3"
        raise StorageError(
            f"object storage bucket {storage.bucket!r} at {where} is unreachable ({exc}); "
            "trace reads the runs' folders from it: run trace again when it is back"
        ) from exc

"""Problems on the orders' side: orders held from the ERP and bodies the receiver refused.

A held order lasts until `run.py release`; a refused body until `run.py retake` takes it
(its copy then moves to archive/orders/retaken/), from any machine when the refused bodies
are in the bucket.
"""

from __future__ import annotations

import hashlib

from etl.console.problems import Problem
from etl.receiver.refused import RefusedBody, refused_bodies
from etl.state.areas import Areas
from etl.state.blob_refused import open_refused
from etl.state.blobs import StorageError, StorageOptions
from etl.state.ledger.connection import LedgerAt
from etl.to_erp.orders.book import HeldReason, OrderBook
from etl.transport.names import one_line, printable

# Held orders are one problem per hold reason: a systemic cause (every order fails one check)
# is one alert, a new order held for that reason joins it, another reason is another alert.
# The key depends on the reason alone, never on how many orders share it.
REFS_TOLD = 10  # the refs a problem names, oldest first; the rest are counted


def order_problems(ledger: LedgerAt, areas: Areas, storage: StorageOptions) -> list[Problem]:
    """One `order_held` problem per distinct hold reason and one `order_refused` per order
    body refused (on this machine's disk, or in the bucket with `[storage] backend = "s3"`)."""
    book = OrderBook(ledger)
    try:
        held = book.held_by_reason(REFS_TOLD)
    finally:
        book.close()
    try:
        refused = [_refused(b) for b in refused_bodies(open_refused(storage, areas, "orders"))]
    except StorageError as exc:
        # The bucket is down: say so once, rather than fail every other problem with it.
        refused = [_unlisted(exc)]
    return [*(_held(h) for h in held), *refused]


def _held(held: HeldReason) -> Problem:
    key = f"order-held:{hashlib.sha256(held.reason.encode()).hexdigest()[:16]}"
    reason = one_line(held.reason)
    if held.count == 1:
        ref = printable(held.refs[0])
        return Problem(
            key=key,
            kind="order_held",
            subject=f"order {ref}",
            what=f"held: {reason}",
            did="kept it from the ERP; every other order goes on",
            command=f"run.py release {ref}",
            since=held.oldest,
        )
    refs = ", ".join(printable(r) for r in held.refs)
    more = f" and {held.count - len(held.refs)} more" if held.count > len(held.refs) else ""
    return Problem(
        key=key,
        kind="order_held",
        subject=f"{held.count} orders",
        what=f"held: {reason}; orders {refs}{more}",
        did="kept them from the ERP; every other order goes on",
        command="run.py orders --state held, then run.py release REF for each",
        since=held.oldest,
    )


def _refused(body: RefusedBody) -> Problem:
    return Problem(
        key=f"refused-body:{body.name}",
        kind="order_refused",
        subject=f"order body {body.name}",
        what=f"the receiver refused it: {one_line(body.reason)}",
        did="answered Norce with an error and kept the body in archive/orders/rejected/",
        command=f"run.py retake {body.name}",
        since=body.refused_at,
    )


def _unlisted(exc: StorageError) -> Problem:
    return Problem(
        key="refused-body:unlisted",
        kind="order_refused",
        subject="refused order bodies",
        what=f"could not be listed: {one_line(str(exc))}",
        did="listed nothing; the receiver answers 503 to what it would refuse while this lasts",
        command="run.py orders --state refused, once object storage is back",
        since="",
    )

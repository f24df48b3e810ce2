"""One order body in: checked, spooled durably, recorded once, answered.

Shared by the push receiver and the Query poller, so an order is the same order whichever
way it came. The order of the steps is the guarantee: the body is stored durably (on disk
and fsync'd, or an object whose PUT was answered) and the book knows it before OK is
answered, so an OK never stands for an order we could lose. A retry of the same body
answers OK and writes nothing new. A different body under a
reference already known is kept next to the first, reported, and not exported: which one
the ERP should get is a person's call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.config.settings import OrderSettings, Settings
from etl.runtime import ledger_at, utc_now
from etl.state.areas import Areas
from etl.state.blob_refused import open_refused
from etl.state.blob_spool import open_spool
from etl.state.refused_base import RefusedBodies
from etl.state.refused_local import LocalRefused
from etl.state.spool_base import BodySpool, matches_name
from etl.to_erp.orders.bodies import BodyRefused, body_kind, parse_order, read_order
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.checks import hold_reasons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """HTTP status and the OrderResponse body."""

    status: int
    body: dict[str, Any]


def ok(description: str) -> Answer:
    """The answer Norce waits for: queued, the ERP number comes later by SendOrderStatus."""
    return Answer(
        200,
        {
            "StatusCode": "OK",
            "Description": description,
            "HasErpOrderNo": False,
            "ErpOrderNo": None,
        },
    )


def failed(status: int, description: str) -> Answer:
    """A refusal Norce can show: StatusCode Failed with the reason (at most 50 characters)."""
    return Answer(
        status,
        {
            "StatusCode": "Failed",
            "Description": description[:500],
            "HasErpOrderNo": False,
            "ErpOrderNo": None,
        },
    )


class OrderInbound:
    """Takes order bodies from any source into the spool and the book."""

    def __init__(
        self,
        book: OrderBook,
        spool: BodySpool,
        refused: RefusedBodies | Path,
        settings: OrderSettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book, self.spool = book, spool
        # A folder: refused bodies kept there (and retaken beside it), as on one machine.
        self.refused = LocalRefused(refused) if isinstance(refused, Path) else refused
        self.settings, self.clock = settings, clock

    def accept(self, body: bytes, content_type: str, source: str) -> Answer:
        """Spool and record one body; the answer for the sender."""
        kind = body_kind(content_type, body)
        try:
            read = read_order(body, kind)
        except BodyRefused as exc:
            # Kept before the answer: a store that fails raises, and Norce gets 503, not 400.
            kept = self.refused.keep(body, kind, exc.reason, self.clock())
            log.warning("order body refused (%s), kept as %s: %s", source, kept, exc.reason)
            return failed(400, exc.reason)
        order = read.order
        spooled = self.spool.put(order.client_order_ref, body, kind)
        # What could not be read is held like what fails a check: Norce is answered OK.
        reasons = read.problems + hold_reasons(order, self.settings.currencies)
        arrival = self.book.receive(
            order.client_order_ref,
            spooled.sha256,
            spooled.name,
            kind,
            source,
            self.stamp(),
            "; ".join(reasons) or None,
        )
        if arrival == "new":
            held = f", held: {'; '.join(reasons)}" if reasons else ""
            log.info("order %s spooled (%s%s)", order.client_order_ref, source, held)
            return ok("queued")
        if arrival == "again":
            return ok("already received")
        log.error(
            "order %s received again with different content; kept as %s, not exported: "
            "compare it with the first and resend on purpose if needed",
            order.client_order_ref,
            spooled.name,
        )
        return ok("already received (different content kept for review)")

    def recover(self) -> int:
        """Record spooled bodies the book does not know (the process died in between).

        With several receivers on one spool (object storage), a body another receiver is
        booking right now may be taken here too: the book keeps one row per reference, so
        it is booked once either way (the other receiver's booking finds it "again").
        """
        names = self.spool.names()
        if not names:
            return 0
        known = {o.spool_name for o in self.book.orders(limit=10**9)}
        recovered = 0
        for name in names:
            if name in known:
                continue
            kind = name.rsplit(".", 1)[-1]
            try:
                body = self.spool.read(name)
            except FileNotFoundError:
                continue  # purged or masked away since it was listed
            if self._booked(name, body, kind):
                continue
            if not matches_name(name, body):
                # Torn by a crash while it was written (etl.state.spool), or still being
                # written by another receiver: no OK stands for it; the sender's retry
                # replaces it.
                log.warning("spool file %s is not whole (cut off by a crash); skipped", name)
                continue
            answer = self.accept(body, kind, "recovered")
            if answer.status == 200:
                recovered += 1
        return recovered

    def _booked(self, name: str, body: bytes, kind: str) -> bool:
        """Whether the book already accounts for this spool file under another name.

        A body kept for review (a different body under a known reference) is not an order
        row; without this, every restart would take it in again and report it as lost.
        """
        try:
            ref = parse_order(body, kind).client_order_ref
        except BodyRefused:
            return False
        row = self.book.order(ref)
        if row is None:
            return False
        sha = hashlib.sha256(body).hexdigest()
        if row.sha256 != sha:
            # Recorded quietly (the book ignores a variant it has): it was reported when it came.
            self.book.receive(ref, sha, name, kind, "recovered", self.stamp())
        return True

    def stamp(self) -> str:
        """Now, ISO 8601 UTC."""
        return self.clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")


def open_inbound(settings: Settings) -> OrderInbound:
    """The inbound over this installation's spool, book and archive."""
    areas = Areas(settings.home)
    return OrderInbound(
        OrderBook(ledger_at(settings)),
        open_spool(settings.storage, areas, "orders"),
        open_refused(settings.storage, areas, "orders"),
        settings.orders,
        utc_now,
    )

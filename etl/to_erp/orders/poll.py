"""Orders by polling Norce Commerce Query, for tenants that cannot expose a receiver.

One run reads the orders of this application in the configured statuses that changed since
the watermark less a safety lap, turns each into the OrderRequest body Norce would have
pushed (`etl.to_erp.orders.from_query`) and hands it to the same `OrderInbound` as the receiver.

Why the pieces are as they are:
- The safety lap: Norce stamps `Updated` from its own clock and orders land out of order
  under load (reference section 16), so a run re-reads a few hours it has already seen.
- Orders the book already knows are skipped before the inbound: a polled order changes in
  Norce after we took it (its status, at least), and a different body under a known
  reference would be filed as a conflict for review; a pushed order polled again likewise.
- `Updated` is null on orders never changed since creation (seen on a live tenant, S21),
  so those are matched on `Created` instead.
- An order whose buyer Norce forgot (`IsForgotten`) is taken in without its personal
  fields (etl.to_erp.orders.from_query), and counted, so the summary says how many there were.
- The watermark (newest Updated or Created seen) is saved only after every order of the
  run went through the inbound; a run that fails on page 3 saves nothing, so the next run
  reads pages 1 and 2 again and finds those orders known.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from etl.config.settings import Settings
from etl.errors import ConfigError
from etl.norce.query import COUNTRIES, CURRENCIES, ORDERS, QueryClient, odata_datetime
from etl.state.ledger.watermarks import Watermarks
from etl.to_erp.orders.from_query import CodeTables, client_order_ref, is_forgotten, order_body
from etl.to_erp.orders.inbound import OrderInbound

log = logging.getLogger(__name__)

EXPAND = "Items,Buyer,Payer,ShipTo,Infos"
# Id breaks ties between equal Updated times, so `$skip` paging cannot skip or repeat one.
ORDER_BY = "Updated,Id"


@dataclass(frozen=True)
class PollSummary:
    """What one poll did."""

    pages: int
    read: int  # orders Query returned
    spooled: int  # new to the book (held ones included)
    held: int  # of those, held for an operator
    known: int  # already in the book (pushed, or an earlier poll)
    refused: int  # not a valid OrderRequest: kept under archive/orders/rejected/
    since: dt.datetime | None  # the lower bound read from (watermark less the lap)
    watermark: dt.datetime | None  # the mark in force after the run
    forgotten: int = 0  # of the spooled, orders of a buyer Norce forgot: no personal fields


def watermark_name(application_id: int) -> str:
    """The watermark key: one per application, so a changed application id starts afresh."""
    return f"query-orders:{application_id}"


def order_filter(application_id: int, status_ids: Iterable[int], since: dt.datetime | None) -> str:
    """The `$filter` of a poll: this application, these statuses, changed after `since`."""
    statuses = sorted(set(status_ids))
    if not statuses:
        raise ConfigError("settings", "orders.poll_status_ids", "must list at least one status")
    parts = [
        f"ApplicationId eq {application_id}",
        "(" + " or ".join(f"StatusId eq {s}" for s in statuses) + ")",
    ]
    if since is not None:
        at = odata_datetime(since)
        parts.append(f"(Updated gt {at} or (Updated eq null and Created gt {at}))")
    return " and ".join(parts)


def poll_orders(
    settings: Settings,
    inbound: OrderInbound,
    query: QueryClient,
    watermarks: Watermarks,
    clock: Callable[[], dt.datetime],
) -> PollSummary:
    """Take in the orders changed since the last successful poll; advance the watermark."""
    app = query.application_id
    name = watermark_name(app)
    mark = watermarks.get(name)
    lap = dt.timedelta(hours=settings.orders.poll_safety_lap_hours)
    since = mark - lap if mark is not None else None
    run = _Run(inbound, query)
    pages = query.pages(
        ORDERS,
        filter=order_filter(app, settings.orders.poll_status_ids, since),
        expand=EXPAND,
        orderby=ORDER_BY,
        top=settings.orders.poll_page_size,
    )
    for page in pages:
        run.pages += 1
        for order in page:
            run.take(order)
    if run.newest is not None:
        mark = watermarks.advance(name, run.newest, clock(), run.read)
    summary = run.summary(since, mark)
    log.info(
        "polled Norce orders since %s: %d pages, %d read, %d spooled (%d held), %d known, "
        "%d refused, %d of a forgotten buyer (taken without personal fields); watermark %s",
        since.isoformat() if since else "the beginning",
        summary.pages,
        summary.read,
        summary.spooled,
        summary.held,
        summary.known,
        summary.refused,
        summary.forgotten,
        mark.isoformat() if mark else "none",
    )
    return summary


class _Run:
    """The counts and the newest change time of one poll."""

    def __init__(self, inbound: OrderInbound, query: QueryClient) -> None:
        self.inbound, self.query = inbound, query
        self.codes: CodeTables | None = None  # read once, and only when there is an order
        self.pages = self.read = self.spooled = self.held = self.known = self.refused = 0
        self.forgotten = 0
        self.newest: dt.datetime | None = None

    def take(self, order: Mapping[str, Any]) -> None:
        self.read += 1
        changed = changed_at(order)
        if changed is not None and (self.newest is None or changed > self.newest):
            self.newest = changed
        ref = client_order_ref(order)
        if ref is not None and self.inbound.book.order(ref) is not None:
            self.known += 1
            return
        if self.codes is None:
            self.codes = CodeTables(self.query.codes(CURRENCIES), self.query.codes(COUNTRIES))
        answer = self.inbound.accept(order_body(order, self.codes), "application/json", "poll")
        if answer.status != 200:
            # Kept under archive/orders/rejected/ with the reason; a person looks at it.
            self.refused += 1
            return
        row = self.inbound.book.order(ref) if ref is not None else None
        self.spooled += 1
        self.held += row is not None and row.state == "held"
        self.forgotten += is_forgotten(order)

    def summary(self, since: dt.datetime | None, mark: dt.datetime | None) -> PollSummary:
        return PollSummary(
            self.pages,
            self.read,
            self.spooled,
            self.held,
            self.known,
            self.refused,
            since,
            mark,
            self.forgotten,
        )


def changed_at(order: Mapping[str, Any]) -> dt.datetime | None:
    """When Norce last changed the order: Updated, else Created; naive times taken as UTC."""
    for key in ("Updated", "Created"):
        value = order.get(key)
        if isinstance(value, str) and value:
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                log.warning("order %s: %s %r is not a date-time", order.get("Id"), key, value)
                continue
            # [I] Query writes UTC; a time without an offset is read as UTC too.
            return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    return None

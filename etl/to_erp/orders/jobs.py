"""The order jobs `run.py once` and the scheduler run: poll Norce, export to each layout.

Each job opens its own order book and spool (SQLite connections are per thread) and takes
the runtime's store, clock and sleep, so a scheduled job and `once` behave the same.
"""

from __future__ import annotations

from etl.norce.query import QueryClient
from etl.runtime import Runtime
from etl.state.ledger.watermarks import Watermarks
from etl.to_erp.files.export import ExportSummary, export_orders
from etl.to_erp.files.layouts import Layout
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.orders.poll import PollSummary, poll_orders


def polls(rt: Runtime) -> bool:
    """Whether orders are fetched from Norce Commerce Query in this installation."""
    return rt.settings.orders.source in ("poll", "both")


def poll_once(rt: Runtime) -> PollSummary:
    """One poll of Norce Commerce Query into the spool."""
    settings = rt.settings
    inbound = open_inbound(settings)
    watermarks = Watermarks(rt.ledger.at)
    query = QueryClient(
        settings.norce, settings.orders.query_path, sleep=rt.sleep, shared=rt.shared_tokens()
    )
    try:
        return poll_orders(settings, inbound, query, watermarks, rt.clock)
    finally:
        query.close()
        watermarks.close()
        inbound.book.close()


def export_once(rt: Runtime, layout: Layout) -> ExportSummary:
    """Export the due orders to one layout's target."""
    book = OrderBook(rt.ledger.at)
    try:
        return export_orders(
            rt.settings,
            book,
            rt.spool("orders"),
            rt.store(layout.target.store),
            layout,
            rt.clock,
            pause_after_upload_seconds=rt.settings.pause_before_commit_seconds,
            sleep=rt.sleep,
        )
    finally:
        book.close()


def describe_export(summary: ExportSummary, noun: str = "orders") -> str:
    """One line for `run.py once`: what went to the ERP for one layout (orders, customers...)."""
    unit = "order(s)" if noun == "orders" else noun
    parts = [f"{len(summary.files)} file(s), {summary.units} {unit}"]
    if summary.outbox_only:
        parts.append("written to outbox only (the store is read-only)")
    if summary.finished:
        parts.append(f"settled by lookup: {', '.join(summary.finished)}")
    if summary.uploaded_again:
        parts.append(f"uploaded again: {', '.join(summary.uploaded_again)}")
    if summary.stuck:
        parts.append(f"STUCK, needs a person: {', '.join(summary.stuck)}")
    if summary.gone:
        parts.append(f"no longer in Norce (not sent): {', '.join(summary.gone)}")
    if summary.held:
        parts.append(f"held: {', '.join(sorted(summary.held))}")
    if summary.skipped:
        parts.append("skipped: another process is exporting this layout")
    if summary.error:
        parts.append(f"FAILED: {summary.error}")
    return f"{noun} -> {summary.layout}: " + "; ".join(parts)

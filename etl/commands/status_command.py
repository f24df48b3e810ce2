"""`run.py status`: first whether anything needs a person, then each problem, then the tables.

Exit code 0 when nothing needs a person, 1 when something does, so a monitoring check can
call it. `--json` prints the same as one document (etl.commands.json_views).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from etl.commands.document_status import documents_status
from etl.commands.json_views import (
    document_json,
    dump,
    hold_json,
    job_json,
    order_json,
    problem_json,
    refused_json,
    run_json,
)
from etl.commands.orders import order_status_lines
from etl.commands.status import render_holds, render_jobs, render_problems, render_runs
from etl.config.contracts import FeedContract
from etl.console.sources import find_problems
from etl.console.unpublished_runs import render_unpublished, unpublished_runs
from etl.receiver.refused import refused_bodies
from etl.runtime import Runtime
from etl.state.blob_refused import open_refused
from etl.state.ledger.job_outcomes import JobOutcome, JobOutcomes
from etl.to_erp.orders.book import OrderBook
from etl.to_norce.documents.book import DocumentBook

log = logging.getLogger(__name__)

HELD_ORDERS_LISTED = 200  # in the JSON document; `orders --state held --json` has them all


def show_status(
    rt: Runtime, contracts: dict[str, FeedContract], feed: str | None, limit: int, as_json: bool
) -> int:
    """Print the status (text or JSON); 1 when a problem needs a person, else 0."""
    if feed is not None and feed not in contracts:
        # A typo is not a problem that needs a person (1): a monitoring check sees 2, as for
        # a usage error (found by review).
        log.error("no feed %r; known feeds: %s", feed, ", ".join(contracts))
        return 2
    problems = find_problems(rt, contracts, rt.clock())
    feeds = [feed] if feed else list(contracts)
    runs = [run for name in feeds for run in rt.ledger.runs(name, limit)]
    unpublished = unpublished_runs(rt, runs)  # [storage] backend = "s3": upload failed
    holds = rt.ledger.pending_holds()
    jobs = job_outcomes(rt)
    if as_json:
        document = {
            "needs_a_person": bool(problems),
            "problems": [problem_json(p) for p in problems],
            "runs": [run_json(r) for r in runs],
            "unpublished_runs": [run_json(r) for r in unpublished],
            "holds": [hold_json(h) for h in holds],
            "jobs": [job_json(j) for j in jobs],
            **_orders_part(rt),
            "documents": _documents_part(rt),
        }
        print(dump(document))
    else:
        parts = [render_problems(problems), render_runs(runs)]
        parts += [render_unpublished(unpublished)] if unpublished else []
        parts += [render_holds(holds)] if holds else []
        parts += [render_jobs(jobs)] if jobs else []
        parts += [order_status_lines(rt.settings), _documents_text(rt)]
        print("\n\n".join(parts))
    return 1 if problems else 0


def job_outcomes(rt: Runtime) -> list[JobOutcome]:
    """How each job last ended, by name."""
    outcomes = JobOutcomes(rt.ledger.at)
    try:
        return outcomes.latest()
    finally:
        outcomes.close()


def _orders_part(rt: Runtime) -> dict[str, Any]:
    book = OrderBook(rt.ledger.at)
    try:
        counts, held = book.counts(), book.latest("held", HELD_ORDERS_LISTED)
    finally:
        book.close()
    refused = refused_bodies(open_refused(rt.settings.storage, rt.areas, "orders"))
    return {
        "orders": {"counts": counts, "held": [order_json(o) for o in held]},
        "refused_bodies": [refused_json(b) for b in refused],
    }


def _documents_part(rt: Runtime) -> dict[str, Any]:
    book = DocumentBook(rt.ledger.at)
    try:
        counts, rows, conflicts = book.counts(), book.needing_attention(), book.conflicts()
    finally:
        book.close()
    return {
        "counts": counts,
        "needing_attention": [document_json(r) for r in rows],
        "conflicts": _plain(conflicts),
    }


def _documents_text(rt: Runtime) -> str:
    book = DocumentBook(rt.ledger.at)
    try:
        return documents_status(book)
    finally:
        book.close()


def _plain(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    return [dict(r) for r in rows]

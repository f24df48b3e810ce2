"""The `--json` documents of `status`, `orders` and `parties`: stable keys, one version.

Each document is one JSON object with `"version": 1`; a key is only ever added, never
renamed or given another meaning (docs/operations.md, "Machine-readable output"). Times
are the ISO-8601 UTC text the ledger keeps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from etl.console.problems import Problem
from etl.receiver.refused import RefusedBody
from etl.state.ledger.base import RunRow
from etl.state.ledger.job_outcomes import JobOutcome
from etl.to_erp.orders.book import OrderRow
from etl.to_erp.parties.book import EventRow
from etl.to_norce.documents.book import DocumentRow

VERSION = 1


def dump(document: Mapping[str, Any]) -> str:
    """The document as printed: versioned, indented, non-ASCII kept as it is."""
    return json.dumps({"version": VERSION, **document}, indent=2, ensure_ascii=False)


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem with every field."""
    return dataclasses.asdict(problem)


def run_json(run: RunRow) -> dict[str, Any]:
    """A run as `status` lists it."""
    return {
        "run_id": run.run_id,
        "feed": run.feed,
        "kind": run.kind,
        "remote_path": run.remote_path,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": run.outcome,
        "counts": run.counts,
        "message": run.message,
        "archive_dir": run.archive_dir,
    }


def hold_json(hold: Mapping[str, Any]) -> dict[str, Any]:
    """A pending hold with the command that releases it."""
    keys = ("run_id", "feed", "created_at", "removals", "reason", "state")
    return {**{k: hold[k] for k in keys}, "command": f"run.py approve {hold['run_id']}"}


def job_json(outcome: JobOutcome) -> dict[str, Any]:
    """How a job last ended."""
    return dataclasses.asdict(outcome)


def order_json(order: OrderRow, exported_to: Sequence[str] = ()) -> dict[str, Any]:
    """An order as `orders` lists it."""
    return {
        "ref": order.ref,
        "received_at": order.received_at,
        "source": order.source,
        "kind": order.kind,
        "state": order.state,
        "reason": order.reason,
        "generation": order.generation,
        "exported_to": list(exported_to),
    }


def orders_document(
    orders: Sequence[OrderRow],
    exported: Mapping[str, Sequence[str]],
    state: str | None,
    counted: tuple[int, int],
    refused: int,
) -> dict[str, Any]:
    """`orders --json`: the listed orders, how many match and exist, how many bodies refused."""
    matching, everything = counted
    return {
        "state": state,
        "matching": matching,
        "total": everything,
        "orders": [order_json(o, exported.get(o.ref, ())) for o in orders],
        "refused_count": refused,  # their list: `orders --state refused --json`
    }


def refused_json(body: RefusedBody) -> dict[str, Any]:
    """A refused order body, by the name `retake` takes."""
    return {"name": body.name, "refused_at": body.refused_at, "reason": body.reason}


def document_json(row: DocumentRow) -> dict[str, Any]:
    """A document that needs someone's eyes (its body left out)."""
    return {
        "kind": row.kind,
        "doc_no": row.doc_no,
        "feed": row.feed,
        "state": row.state,
        "attempts": row.attempts,
        "message": row.message,
        "run_id": row.run_id,
        "first_seen": row.first_seen,
        "updated_at": row.updated_at,
    }


def event_json(event: EventRow, layouts: Sequence[str]) -> dict[str, Any]:
    """A party event and what each layout made of it; a layout that has not taken it: pending."""
    went = {layout: {"outcome": what, "note": note} for layout, what, note in event.outcomes}
    for layout in layouts:
        went.setdefault(layout, {"outcome": "pending", "note": None})
    return {
        "seq": event.seq,
        "received_at": event.received_at,
        "kind": event.kind,
        "event": event.event,
        "norce_id": event.norce_id,
        "source": event.source,
        "outcomes": [{"layout": k, **v} for k, v in sorted(went.items())],
    }

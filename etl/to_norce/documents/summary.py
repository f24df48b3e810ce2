"""What a run of a document feed tells people: report rows, counts, manifest entries.

The rejected-row report (same columns as every report, see etl.read.reports) gets a row for
every document Norce refused (with Norce's message), every conflict, and every fee line
dropped from a later invoice. Waiting documents are not errors in the ERP's data: they are
counted, listed in the manifest and shown by `run.py status`. The codes documents add to
reports: head_mismatch, document_incomplete, orphan_line, total_mismatch (from grouping),
norce_rejected, conflict, fee_dropped and fee_repeated (from here); code_taken and
buyer_unmatched (our own check before a write-back, counted as `refused_by_check`: Norce was
not asked, and the document is checked again on every run until the cause is gone);
buyer_not_received (the same check, for a cause that never goes away: closed as refused).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

from etl.entities.document import Document
from etl.read.validate import REJECTION_SCHEMA
from etl.to_norce.documents.sender import Result

# Said before the reason of a refusal by our own check (etl.to_norce.documents.party_codes): Norce was
# not asked, and the document is tried again on every run until the cause is gone.
BY_CHECK = "Not sent: our check before sending refused it (checked again on every run)"
# A run's outcome for a document -> its name in the run's counts ("rejected" there already
# counts the file's rejected rows).
TALLY = {
    "sent": "sent",
    "already_sent": "already_sent",
    "found": "found_in_norce",
    "waiting": "waiting",
    "rejected": "refused",
    "already_rejected": "already_refused",
    "conflict": "conflicts",
    "refused_by_check": "refused_by_check",
}


def notes(results: Sequence[Result]) -> pl.DataFrame:
    """Report rows for refused, conflicting and fee-trimmed documents."""
    rows: list[tuple[Any, ...]] = []
    for result in results:
        document = result.document
        first = document.source_lines[0] if document.source_lines else None
        if result.code == "norce_rejected":
            said = "Norce refused it" if result.outcome == "rejected" else "Norce refused it before"
            message = f"{said}: {result.message}"
            rows.append((first, document.number, None, None, result.code, message, None))
        elif result.outcome == "refused_by_check":
            message = f"{BY_CHECK}: {result.message}"
            rows.append((first, document.number, None, None, result.code, message, None))
        elif result.code:
            rows.append((first, document.number, None, None, result.code, result.message, None))
        rows += [_dropped(document, index) for index in result.dropped]
    return pl.DataFrame(rows, schema=REJECTION_SCHEMA, orient="row")


def _dropped(document: Document, index: int) -> tuple[Any, ...]:
    line = document.lines[index]
    part = line["part_no"]
    source = document.source_lines[index] if index < len(document.source_lines) else None
    message = (
        f"{part} is left out of invoice {document.number}: an earlier invoice of the same order "
        "already carried it, and Norce captures freight and fees once per order "
        "(the invoice's amount is sent without it)"
    )
    key = f"{document.number} / {line.get('line_no', '')}"
    return (source, key, "part_no", None, "fee_dropped", message, part)


def counts(results: Sequence[Result]) -> dict[str, int]:
    """Documents per outcome (those that happened, and always `sent`), and fee lines dropped."""
    seen = Counter(TALLY[r.outcome] for r in results)
    tally = {"sent": seen["sent"], **{k: n for k, n in seen.items() if k != "sent"}}
    dropped = sum(len(r.dropped) for r in results)
    return tally | ({"fees_dropped": dropped} if dropped else {})


def listing(results: Sequence[Result]) -> list[dict[str, Any]]:
    """One manifest entry per document: what it was and what became of it."""
    return [
        {
            "kind": r.document.kind,
            "number": r.document.number,
            "lines": list(r.document.source_lines),
            "outcome": r.outcome,
            "message": r.message or None,
            "location": r.location,
            "sha256": r.document.sha,
        }
        for r in results
    ]


def headline(tally: dict[str, int]) -> str:
    """A short line for the CLI and the ledger: what needs someone's eyes."""
    parts = [
        f"{tally[k]} {label}"
        for k, label in (
            ("waiting", "waiting (`run.py status` says why)"),
            ("refused", "refused"),
            ("refused_by_check", "refused by our check (tried again every run)"),
            ("conflicts", "sent before with other content, not sent again"),
            ("fees_dropped", "freight/fee line(s) dropped, already captured"),
        )
        if tally.get(k)
    ]
    return "; ".join(parts)

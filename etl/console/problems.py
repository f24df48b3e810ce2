"""What needs a person now: one `Problem` per thing an operator must look at.

`status` lists them (its first line says whether there are any, its exit code is 1 when
there are), the alerts send one message per problem until it is gone, and the page shows
them. Every source reads the ledger and the folders; none changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every kind a problem may have (the `kind` field); docs/operations.md has a row for each.
# An order refused (by the receiver or the poll) is `order_refused`: its body waits in
# archive/orders/rejected/ for `run.py retake`.
KINDS = (
    "failed",
    "rejected_file",
    "held_removals",
    "rejected_rows",
    "order_held",
    "order_refused",
    "order_changed",
    "document_refused",
    "document_conflict",
    "document_waiting",
    "export_stuck",
    "quarantined",
    "missing_file",
    "not_running",
)


@dataclass(frozen=True)
class Problem:
    """One thing that needs a person, with the same `key` for as long as it lasts."""

    # Stable while the problem lasts and unique among problems, e.g. "failed:products",
    # "held:<run id>", "order-held:<hash of the hold reason>", "rejected:<feed>",
    # "missing:products:<due time>", "document-refused:<kind>:<hash of the cause>": the alerts
    # send one message when a key appears and one "resolved" message when it is gone.
    key: str
    # one of KINDS
    kind: str
    subject: str  # what it concerns: "feed products", "file prices.csv", "order 1001"
    what: str  # what happened, one line
    did: str  # what the product did about it (kept the snapshot, archived the file, ...)
    command: str | None  # the command that helps, e.g. "approve RUN", "release ORDER"
    since: str  # ISO-8601 UTC time it began (the run's or order's time)

"""`run.py replay RUN --dry-run` for documents: per document, what its replay would do.

The archived file is read, checked and grouped by today's contract, and each document is
looked up in the document book the way the sender would: one Norce already has is not sent
again, one whose content the contract now reads differently is a conflict, the others
would go. Nothing is sent, booked or kept (etl.to_norce.replay takes the replay itself).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.entities.document import Document
from etl.errors import FileRejected
from etl.runtime import Runtime
from etl.to_norce.documents.book import DocumentBook
from etl.to_norce.documents.grouping import all_rejections, group
from etl.to_norce.feed import parse_and_validate, refuse_if_suspect
from etl.to_norce.replay import Preview

# Rejected lines shown; the headline counts them all.
SHOWN = 5


def preview_documents(rt: Runtime, contract: FeedContract, copy: Path) -> Preview:
    """What replaying `copy` would do with each of its documents, and the lines it rejects."""
    try:
        with tempfile.TemporaryDirectory(prefix="replay-dry-run-") as scratch:
            validated = parse_and_validate(copy, contract, Path(scratch))
        refuse_if_suspect(validated, contract, copy.name)
        grouped = group(validated, contract)
    except FileRejected as exc:
        return Preview(f"the file would be rejected whole: {exc}", [])
    book = DocumentBook(rt.ledger.at)
    try:
        fates = [f"{d.number}: {_fate(book, d)}" for d in grouped.documents]
    finally:
        book.close()
    going = sum(": would be sent" in f for f in fates)
    tried = sum(": would be tried again" in f for f in fates)
    rejected = all_rejections(validated, grouped.rejections)
    headline = (
        f"rows {validated.rows_read}, documents {len(fates) + grouped.held}: "
        f"{going} would be sent, {tried} tried again, {len(fates) - going - tried} not sent again, "
        f"{grouped.held} held back by rejected rows"
    )
    lines = [
        f"line {r['line']}: {r['code']}: {r['message']}"
        for r in rejected.head(SHOWN).iter_rows(named=True)
    ]
    sections = [("documents", fates)]
    if lines:
        sections.append((f"rejected lines (first {SHOWN})", lines))
    return Preview(headline, sections)


def _fate(book: DocumentBook, document: Document) -> str:
    """What the sender would do with the document, as the book stands (etl...sender.handle)."""
    row = book.find(document.kind, document.number)
    if row is None:
        return "would be sent"
    if row.sha256 != document.sha:
        if row.state in ("sent", "sending"):
            return "conflict: Norce has another version of it; not sent"
        return "would be sent (Norce never took the earlier version)"
    if row.state == "sent":
        return f"already sent (run {row.run_id}); not sent again"
    if row.state == "rejected":
        return f"Norce rejected it before; not sent again ({row.message or 'no message'})"
    if row.state == "sending":
        return "in doubt: Norce is asked whether it has it before anything is sent"
    # Whether it goes now only Norce can say (does it know the order yet?): a dry run asks
    # nothing, so it says the document is tried again, not that it is sent.
    return f"would be tried again: it waits ({row.message or 'for its order'}); sent once Norce knows the order"

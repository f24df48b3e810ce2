"""Plain-text tables of documents that need someone's eyes, for `run.py status`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from etl.commands.status import table
from etl.to_norce.documents.book import DocumentBook, DocumentRow

MESSAGE_CHARS = 90
NONE_WAITING = "Documents: none waiting, in doubt or refused"


def render_documents(
    rows: Sequence[DocumentRow], conflicts: Sequence[Mapping[str, str]] = ()
) -> str:
    """Waiting, in-doubt and refused documents, then numbers that came with other content."""
    parts = []
    if rows:
        lines = [("since", "updated", "feed", "document", "state", "attempts", "last message")]
        lines += [
            (
                r.first_seen,
                r.updated_at,
                r.feed,
                f"{r.kind} {r.doc_no}",
                _state(r.state),
                str(r.attempts),
                (r.message or "")[:MESSAGE_CHARS],
            )
            for r in rows
        ]
        parts.append("Documents waiting, in doubt or refused:\n" + table(lines))
    if conflicts:
        seen = [("seen", "feed", "document", "run")]
        seen += [
            (c["seen_at"], c["feed"], f"{c['kind']} {c['doc_no']}", c["run_id"]) for c in conflicts
        ]
        parts.append(
            "Document numbers sent before that came again with other content (not sent):\n"
            + table(seen)
        )
    return "\n\n".join(parts) or NONE_WAITING


def documents_status(book: DocumentBook) -> str:
    """Everything `run.py status` shows about documents: counts per state, then the tables."""
    counts = book.counts()
    line = "Documents: " + (
        ", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "none yet"
    )
    tables = render_documents(book.needing_attention(), book.conflicts())
    # With none in the book there is nothing to wait either: one line says it.
    return line if not counts and tables == NONE_WAITING else line + "\n" + tables


def _state(state: str) -> str:
    # "sending" on a row a person reads means the call's answer never arrived.
    return "in doubt (looked up next run)" if state == "sending" else state

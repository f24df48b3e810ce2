"""Problems of the document book: documents refused, numbers in conflict, documents waiting
too long for their order.

A refused document (Norce refused it, or our own check did) lasts until a corrected version
of the same number is sent, or until `run.py purge` reduces its body past the feed's
retention (a document without its body cannot be sent: it is closed). A conflict (a number
that came again with other content while Norce has the first) lasts likewise until the
document's body is reduced, or until the book holds the conflicting content. A document
`waiting` for an order Norce does not know becomes a problem after `WAITING_TOO_LONG` and
lasts until it is sent or refused. Refused documents are one problem per kind, refuser and
message (a systemic cause is one incident, and a document refused for it joins it); a
conflict or a long wait is one problem per document. No key depends on how many there are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

from etl.console.problems import Problem
from etl.state.ledger.connection import LedgerAt, Tables
from etl.to_norce.documents.book import PURGED_BODY_PREFIX
from etl.transport.names import one_line, printable

# A document waits for its order to reach Norce: minutes as a rule, hours at worst. A day
# later the order will not come by itself (cancelled, or never sent from the web shop).
WAITING_TOO_LONG = dt.timedelta(hours=24)
MESSAGE_CHARS = 300
NUMBERS_TOLD = 10  # the numbers a refused-documents problem names, oldest first

# Refused documents (their body still kept) per (kind, refuser, message): each group's
# count `n` and its first documents, oldest first.
_REFUSED_GROUPS = (
    "SELECT * FROM (SELECT *, COUNT(*) OVER (PARTITION BY kind, state, cause) AS n, "
    "ROW_NUMBER() OVER (PARTITION BY kind, state, cause ORDER BY updated_at, doc_no) AS k "
    "FROM (SELECT *, COALESCE(message, '') AS cause FROM documents "
    "WHERE state='refused_by_check' OR (state='rejected' AND document NOT LIKE ? || '%'))) "
    "WHERE k<=? ORDER BY kind, state, cause, k"
)
_CONFLICTS = (
    "FROM document_conflicts c JOIN documents d ON d.kind=c.kind AND d.doc_no=c.doc_no "
    "WHERE d.sha256<>c.sha256 AND d.document NOT LIKE ? || '%'"
)
_WAITING = "FROM documents WHERE state='waiting' AND first_seen<=?"


class DocumentTroubles(Tables):
    """The document book's refused, conflicting and long-waiting documents, read only."""

    def refused_groups(self) -> list[list[sqlite3.Row]]:
        """Refused documents whose body is still kept, one list per (kind, refuser, message):
        its first NUMBERS_TOLD documents, oldest first, each row with the group's count `n`."""
        groups: dict[tuple[str, str, str], list[sqlite3.Row]] = {}
        for row in self._db.execute(_REFUSED_GROUPS, (PURGED_BODY_PREFIX, NUMBERS_TOLD)):
            groups.setdefault(_cause(row), []).append(row)
        return list(groups.values())

    def conflicts(self) -> list[sqlite3.Row]:
        """Numbers that came again with other content, the first's body still kept."""
        return self._db.execute(
            "SELECT c.kind, c.doc_no, c.sha256, c.feed, c.run_id, c.seen_at "
            f"{_CONFLICTS} ORDER BY c.seen_at, c.kind, c.doc_no",
            (PURGED_BODY_PREFIX,),
        ).fetchall()

    def waiting_since(self, cutoff: str) -> list[sqlite3.Row]:
        """Documents waiting for their order since `cutoff` or longer."""
        return self._db.execute(
            f"SELECT * {_WAITING} ORDER BY first_seen, kind, doc_no", (cutoff,)
        ).fetchall()


def read_document_problems(ledger: LedgerAt, now: dt.datetime) -> list[Problem]:
    """`document_problems` over a connection of its own to the ledger file."""
    troubles = DocumentTroubles(ledger)
    try:
        return document_problems(troubles, now)
    finally:
        troubles.close()


def document_problems(troubles: DocumentTroubles, now: dt.datetime) -> list[Problem]:
    """Every `document_refused`, `document_conflict` and `document_waiting` problem now."""
    cutoff = (now - WAITING_TOO_LONG).isoformat(timespec="seconds")
    return [
        *(_refused(rows) for rows in troubles.refused_groups()),
        *(_conflict(r) for r in troubles.conflicts()),
        *(_waiting(r) for r in troubles.waiting_since(cutoff)),
    ]


def _cause(row: sqlite3.Row) -> tuple[str, str, str]:
    return (str(row["kind"]), str(row["state"]), str(row["cause"]))


def _subject(row: sqlite3.Row) -> str:
    return f"{row['kind']} {printable(row['doc_no'])} (feed {row['feed']})"


def _refused(rows: list[sqlite3.Row]) -> Problem:
    first, count = rows[0], int(rows[0]["n"])
    kind, state, message = _cause(first)
    by = "our own check" if state == "refused_by_check" else "Norce"
    cause = hashlib.sha256("\n".join((state, message)).encode()).hexdigest()[:16]
    numbers = ", ".join(printable(r["doc_no"]) for r in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    told = f"; {numbers}{more}" if count > 1 else ""  # one document: the subject names it
    return Problem(
        key=f"document-refused:{kind}:{cause}",  # the cause alone: never how many share it
        kind="document_refused",
        subject=_subject(first) if count == 1 else f"{count} {kind} documents",
        what=f"refused by {by}: {one_line(message)[:MESSAGE_CHARS]}{told}",
        did="sent nothing more of it; the ERP's corrected version (same number, new content) "
        "is sent by the feed's next run",
        command=f"run.py trace {printable(first['doc_no'])}"
        if count == 1
        else "run.py status (the documents' table), then run.py trace NUMBER for each",
        since=str(first["updated_at"]),
    )


def _conflict(row: sqlite3.Row) -> Problem:
    return Problem(
        key=f"document-conflict:{row['kind']}:{row['doc_no']}:{row['sha256'][:16]}",
        kind="document_conflict",
        subject=_subject(row),
        what=f"the number came again with other content (run {row['run_id']}) while Norce "
        "has the first",
        did="sent nothing of the new content; Norce keeps the first",
        command=f"run.py trace {printable(row['doc_no'])}",
        since=str(row["seen_at"]),
    )


def _waiting(row: sqlite3.Row) -> Problem:
    order = row["client_order_ref"] or row["erp_order_no"] or "?"
    return Problem(
        key=f"document-waiting:{row['kind']}:{row['doc_no']}",
        kind="document_waiting",
        subject=_subject(row),
        what=f"waiting {row['attempts']} attempts for order {printable(str(order))}, which "
        f"Norce does not know: {one_line(row['message'] or '')[:MESSAGE_CHARS]}",
        did="tries again on every run of the feed",
        command=f"run.py orders show {printable(str(order))}",
        since=str(row["first_seen"]),
    )

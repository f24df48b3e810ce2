"""Problems of the document book: documents refused, numbers in conflict, documents waiting
too long for their order.

A refused document (Norce refused it, or our own check did) lasts until a corrected version
of the same number is sent, or until `run.py purge` reduces its body past the feed's
retention (a document without its body cannot be sent: it is closed). A conflict (a number
that came again with other content while Norce has the first) lasts likewise until the
document's body is reduced, or until the book holds the conflicting content. A document
`waiting` for an order Norce does not know becomes a problem after `WAITING_TOO_LONG` and
lasts until it is sent or refused. Up to `ONE_BY_ONE` of a kind are one problem each; more
are one problem that counts them all (a systemic cause is one incident, not a flood).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.console.problems import Problem
from etl.state.ledger.connection import Tables
from etl.to_norce.documents.book import PURGED_BODY_PREFIX
from etl.transport.names import one_line, printable

ONE_BY_ONE = 10
# A document waits for its order to reach Norce: minutes as a rule, hours at worst. A day
# later the order will not come by itself (cancelled, or never sent from the web shop).
WAITING_TOO_LONG = dt.timedelta(hours=24)
MESSAGE_CHARS = 300

_REFUSED = (
    "FROM documents WHERE (state='refused_by_check' OR (state='rejected' "
    "AND document NOT LIKE ? || '%'))"
)
_CONFLICTS = (
    "FROM document_conflicts c JOIN documents d ON d.kind=c.kind AND d.doc_no=c.doc_no "
    "WHERE d.sha256<>c.sha256 AND d.document NOT LIKE ? || '%'"
)
_WAITING = "FROM documents WHERE state='waiting' AND first_seen<=?"


@dataclass(frozen=True)
class _Found:
    """One kind of document problem: its rows (up to ONE_BY_ONE, oldest first) and count."""

    rows: list[sqlite3.Row]
    count: int


class DocumentTroubles(Tables):
    """The document book's refused, conflicting and long-waiting documents, read only."""

    def refused(self) -> _Found:
        """Documents Norce or our check refused, whose body is still kept."""
        return self._found("SELECT *", _REFUSED, "updated_at, kind, doc_no", PURGED_BODY_PREFIX)

    def conflicts(self) -> _Found:
        """Numbers that came again with other content, the first's body still kept."""
        select = "SELECT c.kind, c.doc_no, c.sha256, c.feed, c.run_id, c.seen_at"
        return self._found(select, _CONFLICTS, "c.seen_at, c.kind, c.doc_no", PURGED_BODY_PREFIX)

    def waiting_since(self, cutoff: str) -> _Found:
        """Documents waiting for their order since `cutoff` or longer."""
        return self._found("SELECT *", _WAITING, "first_seen, kind, doc_no", cutoff)

    def _found(self, select: str, where: str, order_by: str, param: str) -> _Found:
        # `select`, `where` and `order_by` are this module's constants, never input.
        count = self._db.execute(f"SELECT COUNT(*) {where}", (param,)).fetchone()[0]
        rows = self._db.execute(
            f"{select} {where} ORDER BY {order_by} LIMIT ?",
            (param, ONE_BY_ONE),
        ).fetchall()
        return _Found(rows, int(count))


def read_document_problems(ledger: Path, now: dt.datetime) -> list[Problem]:
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
        *_problems(troubles.refused(), _refused, "documents-refused", "refused"),
        *_problems(troubles.conflicts(), _conflict, "documents-conflict", "in conflict"),
        *_problems(troubles.waiting_since(cutoff), _waiting, "documents-waiting", "waiting"),
    ]


def _problems(
    found: _Found, one: Callable[[sqlite3.Row], Problem], many_key: str, told: str
) -> list[Problem]:
    problems = [one(r) for r in found.rows]
    if found.count <= ONE_BY_ONE:
        return problems
    oldest = problems[0]
    return [
        Problem(
            key=many_key,  # one key however many: the count changes, the incident does not
            kind=oldest.kind,
            subject=f"{found.count} documents",
            what=f"{found.count} documents {told}; the oldest: {oldest.subject}, {oldest.what}",
            did=oldest.did,
            command="run.py status (the documents' table), then run.py trace NUMBER for each",
            since=oldest.since,
        )
    ]


def _subject(row: sqlite3.Row) -> str:
    return f"{row['kind']} {printable(row['doc_no'])} (feed {row['feed']})"


def _refused(row: sqlite3.Row) -> Problem:
    by = "our own check" if row["state"] == "refused_by_check" else "Norce"
    return Problem(
        key=f"document-refused:{row['kind']}:{row['doc_no']}",
        kind="document_refused",
        subject=_subject(row),
        what=f"refused by {by}: {one_line(row['message'] or '')[:MESSAGE_CHARS]}",
        did="sent nothing more of it; the ERP's corrected version (same number, new content) "
        "is sent by the feed's next run",
        command=f"run.py trace {printable(row['doc_no'])}",
        since=str(row["updated_at"]),
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

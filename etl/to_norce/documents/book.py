"""The document book: every document sent to Norce, by (kind, number), in the ledger file.

Tables of its own in `state/ledger.sqlite` (WAL, see etl.state.ledger.connection). A document's states:

- `sending`: written BEFORE the call. A row still `sending` on a later run means the process
  died (or Norce gave no clear answer) between the call and the answer: the document is in
  doubt, and is looked up in Norce before it is sent again.
- `sent`: Norce took it. The same number with the same content is never sent again.
- `waiting`: Norce does not know its order yet; tried again on every later run of the feed,
  with the number of attempts and Norce's last message.
- `rejected`: Norce refused it; its message is kept. The same content is not sent again; a
  corrected version (same number, new content) is a new attempt, since Norce never took it.
- `refused_by_check`: our own check refused it before anything was sent (a buyer number
  another record holds, an e-mail on two records: etl.to_norce.documents.party_codes). Norce was never
  asked, so it is open like `waiting`: checked again on every run of the feed and sent once
  the cause is gone. Checking again is no attempt and rewrites nothing unless the reason
  changed; past the retention period it is closed as `rejected` (`reduce_bodies`). A cause
  that can never go away is `rejected` at once.

A number that comes again with other content while Norce has (or may have) the first is a
conflict: it is recorded in `document_conflicts` and reported, and nothing is sent. The
document row keeps describing what Norce holds.

The canonical document is kept with its row, so a waiting document is sent again from here
(its file was committed long ago), and the fee articles an invoice carried are kept so a
later invoice of the same order does not capture them twice.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from etl.dates import utc
from etl.entities.document import Document, content_sha
from etl.state.ledger.connection import LedgerAt, Tables

# Its tables (documents, document_conflicts, document_book_steps) are created by
# etl.state.ledger.migrations.
# Taken up again at the start of every run of the feed.
OPEN_STATES = ("sending", "waiting", "refused_by_check")
PURGED_BODY_PREFIX = '{"purged_at"'  # a body `run.py purge` reduced to nothing
_CLOSED_BY_RETENTION = (
    " (closed: refused past the retention period, its body removed; send the document again"
    " once the cause is gone)"
)


@dataclass(frozen=True)
class DocumentRow:
    """One document as the book knows it."""

    kind: str
    doc_no: str
    feed: str
    sha256: str
    state: str
    document: str  # canonical JSON, see Document.canonical
    client_order_ref: int | None
    erp_order_no: str | None
    fees: tuple[str, ...]
    attempts: int
    message: str | None
    run_id: str
    first_seen: str
    updated_at: str


class DocumentBook(Tables):
    """Documents and their states; one connection per thread or process."""

    def __init__(self, at: LedgerAt) -> None:
        super().__init__(at)
        self._hash_what_documents_say()

    def _hash_what_documents_say(self) -> None:
        """Once per book: hashes from before empty fields were left out, taken again.

        Every kept document has its canonical JSON, so its hash is recomputed exactly; a
        document sent before a field was added then still matches itself when it comes again.
        """
        with self._tx() as db:
            if db.execute("SELECT 1 FROM document_book_steps WHERE name='content_sha'").fetchone():
                return
            rows = db.execute("SELECT kind, doc_no, document FROM documents").fetchall()
            db.executemany(
                "UPDATE documents SET sha256=? WHERE kind=? AND doc_no=?",
                [(content_sha(r["document"]), r["kind"], r["doc_no"]) for r in rows],
            )
            db.execute("INSERT INTO document_book_steps VALUES ('content_sha', datetime('now'))")

    def find(self, kind: str, doc_no: str) -> DocumentRow | None:
        """The document with this number, if it was ever seen."""
        row = self._db.execute(
            "SELECT * FROM documents WHERE kind=? AND doc_no=?", (kind, doc_no)
        ).fetchone()
        return _row(row) if row else None

    def begin(
        self, feed: str, document: Document, fees: Iterable[str], run_id: str, at: str
    ) -> None:
        """Record the document as `sending` before its call: the first phase of two."""
        self._record(feed, document, fees, run_id, at, "sending", None, attempt=1)

    def finish(self, kind: str, doc_no: str, state: str, message: str | None, at: str) -> None:
        """Record how the call ended (sent, waiting, rejected): the second phase."""
        with self._tx() as db:
            db.execute(
                "UPDATE documents SET state=?, message=?, updated_at=? WHERE kind=? AND doc_no=?",
                (state, message, at, kind, doc_no),
            )

    def hold(
        self, feed: str, document: Document, state: str, message: str, run_id: str, at: str
    ) -> None:
        """Record a document decided without a call (waiting on another, refused here)."""
        self._record(feed, document, (), run_id, at, state, message, attempt=0)

    def _record(
        self,
        feed: str,
        document: Document,
        fees: Iterable[str],
        run_id: str,
        at: str,
        state: str,
        message: str | None,
        *,
        attempt: int,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO documents (kind, doc_no, feed, sha256, state, document, "
                "client_order_ref, erp_order_no, fees, attempts, message, run_id, first_seen, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(kind, doc_no) DO UPDATE SET feed=excluded.feed, "
                "sha256=excluded.sha256, state=excluded.state, document=excluded.document, "
                "client_order_ref=excluded.client_order_ref, erp_order_no=excluded.erp_order_no, "
                "fees=excluded.fees, attempts=documents.attempts+excluded.attempts, "
                "message=excluded.message, run_id=excluded.run_id, updated_at=excluded.updated_at",
                (
                    document.kind,
                    document.number,
                    feed,
                    document.sha,
                    state,
                    document.canonical(),
                    document.client_order_ref,
                    document.erp_order_no,
                    json.dumps(sorted(fees)),
                    attempt,
                    message,
                    run_id,
                    at,
                    at,
                ),
            )

    def conflict(self, feed: str, document: Document, run_id: str, at: str) -> None:
        """Remember other content under a number Norce has (or may have) with the first."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO document_conflicts VALUES (?,?,?,?,?,?)",
                (document.kind, document.number, document.sha, feed, run_id, at),
            )

    def fees_captured(
        self, client_order_ref: int | None, erp_order_no: str | None, besides: str
    ) -> set[str]:
        """Fee articles that invoices of this order, other than `besides`, sent or may have sent."""
        rows = self._db.execute(
            "SELECT fees FROM documents WHERE kind='invoice' AND state IN ('sent', 'sending') "
            "AND doc_no<>? AND (client_order_ref=? OR erp_order_no=?)",
            (besides, client_order_ref, erp_order_no),
        )
        return {fee for row in rows for fee in json.loads(row["fees"])}

    def order_numbers(
        self, client_order_ref: int | None, erp_order_no: str | None
    ) -> list[tuple[int, str]]:
        """Every (ClientOrderRef, ErpOrderNo) pair a status Norce took ties to either number.

        One pair is the order's acknowledgement. Several mean the number does not tell one
        order (an ERP order that merged web orders): the caller must not pick one.
        """
        rows = self._db.execute(
            "SELECT DISTINCT client_order_ref, erp_order_no FROM documents "
            "WHERE kind='order_status' AND state='sent' AND client_order_ref IS NOT NULL "
            "AND erp_order_no IS NOT NULL AND (client_order_ref=? OR erp_order_no=?)",
            (client_order_ref, erp_order_no),
        )
        return sorted((int(r["client_order_ref"]), str(r["erp_order_no"])) for r in rows)

    def open_documents(self, feed: str) -> list[DocumentRow]:
        """The feed's documents in doubt or waiting, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM documents WHERE feed=? AND state IN (?, ?, ?) "
            "ORDER BY first_seen, rowid",
            (feed, *OPEN_STATES),
        )
        return [_row(r) for r in rows]

    def needing_attention(self, limit: int = 50) -> list[DocumentRow]:
        """Documents a person may want to see: waiting, in doubt, refused; newest first."""
        rows = self._db.execute(
            "SELECT * FROM documents WHERE state IN ('sending', 'waiting', 'rejected', "
            "'refused_by_check') "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [_row(r) for r in rows]

    def conflicts(self, limit: int = 50) -> list[dict[str, str]]:
        """Numbers that came again with other content, newest first."""
        rows = self._db.execute(
            "SELECT * FROM document_conflicts ORDER BY seen_at DESC LIMIT ?", (limit,)
        )
        return [dict(r) for r in rows]

    def reduce_bodies(self, feed: str, before: dt.datetime, at: str, dry_run: bool = False) -> int:
        """Documents of `feed` settled before `before` keep their number and hash, not their body.

        Only `sent` and `rejected` ones (an open document is sent again from its body), and
        a `refused_by_check` one whose refusal stood unchanged all the period: it is closed as
        `rejected`, since a document without its body cannot be sent. The dedupe compares
        hashes, so a file dropped again is still known; `secure_delete` overwrites the old
        bodies in the file. Returns how many were reduced.
        """
        rows = self._db.execute(
            "SELECT kind, doc_no, updated_at FROM documents WHERE feed=? "
            "AND state IN ('sent', 'rejected', 'refused_by_check') AND document NOT LIKE ?",
            (feed, PURGED_BODY_PREFIX + "%"),
        ).fetchall()
        due = [
            (r["kind"], r["doc_no"])
            for r in rows
            if utc(dt.datetime.fromisoformat(r["updated_at"])) < before
        ]
        if dry_run or not due:
            return len(due)
        body = json.dumps({"purged_at": at})
        self._db.execute("PRAGMA secure_delete=ON")
        with self._tx() as db:
            db.executemany(
                "UPDATE documents SET document=?, "
                "message=CASE WHEN state='refused_by_check' THEN coalesce(message, '') || ? "
                "ELSE message END, "
                "state=CASE WHEN state='refused_by_check' THEN 'rejected' ELSE state END "
                "WHERE kind=? AND doc_no=?",
                [(body, _CLOSED_BY_RETENTION, kind, doc_no) for kind, doc_no in due],
            )
        return len(due)

    def counts(self) -> dict[str, int]:
        """Documents per state, for one line of `status`."""
        rows = self._db.execute("SELECT state, COUNT(*) AS n FROM documents GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}


def _row(row: sqlite3.Row) -> DocumentRow:
    return DocumentRow(
        kind=row["kind"],
        doc_no=row["doc_no"],
        feed=row["feed"],
        sha256=row["sha256"],
        state=row["state"],
        document=row["document"],
        client_order_ref=row["client_order_ref"],
        erp_order_no=row["erp_order_no"],
        fees=tuple(json.loads(row["fees"])),
        attempts=row["attempts"],
        message=row["message"],
        run_id=row["run_id"],
        first_seen=row["first_seen"],
        updated_at=row["updated_at"],
    )

"""The party book: every customer or company change Norce reported, and where it went.

Tables of their own in the ledger (`state/ledger.sqlite`, WAL), written by the receiver
(events in) and the scheduler (exports out), each with its own connection.

- `party_events`: one row per event booked, numbered (`seq`, the event id in logs). Norce
  retries an event it got no 200 for; the payload is undocumented and may hold nothing but
  the id (no time stamp), so a later change of the same customer can arrive byte for byte
  like the first. A body identical to an event of the same type that no export has claimed
  yet is therefore the same event (answered, not booked again): both would be served by
  the same fetch anyway. Once a job has claimed the event (before it fetches), the same
  body is a new change.
- `party_outcomes`: per layout and event, what became of it: `exported` (in an export,
  which is `uploading` until the file is the ERP's, then `done`), `gone` (Norce Query has no
  such record any more), `held` (the record cannot be written in the layout's encoding) or
  `forgotten` (Norce anonymized the customer, etl.to_erp.parties.forgotten: with a marker row in an
  export, or with nothing written and the reason).
  An event without an outcome for a layout is due for it.
- `party_exports`: one row per file, two-phase like the order exports: begun before the
  upload, finished after it, so a crash in between is settled by lookup, not sent twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from etl.state.ledger.exported_files import ExportedFiles, ExportRow

# Its tables (party_events, party_outcomes, party_exports) are created by
# etl.state.ledger.migrations.

Arrival = Literal["new", "again"]
Outcome = Literal["gone", "held", "forgotten"]


@dataclass(frozen=True)
class Change:
    """One party with events not yet settled for a layout: all of them, one fetch."""

    kind: str  # customer | company
    norce_id: int
    seqs: tuple[int, ...]  # its events, oldest first
    received_at: str  # when the first of them came

    @property
    def ref(self) -> str:
        """How files, logs and the ledger name the party: its Norce Id."""
        return str(self.norce_id)


@dataclass(frozen=True)
class EventRow:
    """One booked event and what each layout made of it."""

    seq: int
    kind: str
    norce_id: int
    event: str
    source: str
    received_at: str
    outcomes: tuple[tuple[str, str, str | None], ...]  # (layout, outcome, file or reason)


class PartyBook(ExportedFiles):
    """Party events and their exports; one connection per thread or process."""

    files_table = "party_exports"

    # -- events in -------------------------------------------------------------------------

    def receive(
        self,
        kind: str,
        norce_id: int,
        event: str,
        sha256: str,
        spool_name: str,
        source: str,
        at: str,
    ) -> tuple[Arrival, int]:
        """Book an event unless it repeats one (same type, same body) no job has claimed yet.

        Returns whether it was booked, and the seq of the event it is.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT seq FROM party_events WHERE sha256=? AND event=? AND claimed_at IS NULL "
                "ORDER BY seq LIMIT 1",
                (sha256, event),
            ).fetchone()
            if row is not None:
                return "again", int(row["seq"])
            cur = db.execute(
                "INSERT INTO party_events (kind, norce_id, event, sha256, spool_name, source, "
                "received_at) VALUES (?,?,?,?,?,?,?)",
                (kind, norce_id, event, sha256, spool_name, source, at),
            )
            return "new", int(cur.lastrowid or 0)

    def spool_names(self) -> set[str]:
        """Every spool file an event was booked from."""
        rows = self._db.execute("SELECT DISTINCT spool_name FROM party_events")
        return {str(r["spool_name"]) for r in rows}

    def settled_spool_names(self, layouts: Mapping[str, str]) -> list[tuple[str, str]]:
        """(spool name, when its last event was settled) of bodies every event of is settled.

        An event is settled once every layout of its kind (`layouts`: name -> subject) recorded
        an outcome for it and no file with it is still uploading; until then a layout still
        needs the body. `run.py purge` removes bodies whose time is past the retention.
        """
        events = self._db.execute("SELECT seq, kind, spool_name FROM party_events").fetchall()
        outcomes: dict[int, dict[str, tuple[str, bool]]] = {}
        for row in self._db.execute(
            "SELECT o.seq, o.layout, o.at, COALESCE(x.state, 'done')='done' AS done "
            "FROM party_outcomes o LEFT JOIN party_exports x ON x.export_id=o.export_id"
        ):
            outcomes.setdefault(int(row["seq"]), {})[str(row["layout"])] = (
                str(row["at"]),
                bool(row["done"]),
            )
        last: dict[str, str] = {}
        open_names: set[str] = set()
        for event in events:
            name, seen = str(event["spool_name"]), outcomes.get(int(event["seq"]), {})
            wanted = {n for n, kind in layouts.items() if kind == event["kind"]} or set(seen)
            if not seen or any(n not in seen or not seen[n][1] for n in wanted):
                open_names.add(name)
                continue
            last[name] = max([last.get(name, ""), *(at for at, _ in seen.values())])
        return sorted((n, at) for n, at in last.items() if n not in open_names)

    # -- what is due -----------------------------------------------------------------------

    def due(self, kind: str, layout: str, limit: int, at: str) -> list[Change]:
        """Up to `limit` parties with events `layout` has not settled, oldest first; claimed."""
        unsettled = (
            "e.kind=? AND NOT EXISTS (SELECT 1 FROM party_outcomes o "
            "WHERE o.layout=? AND o.seq=e.seq)"
        )
        with self._tx() as db:
            parties = db.execute(
                f"SELECT e.norce_id FROM party_events e WHERE {unsettled} "  # noqa: S608
                "GROUP BY e.norce_id ORDER BY MIN(e.seq) LIMIT ?",
                (kind, layout, limit),
            ).fetchall()
            changes = []
            for party in parties:
                rows = db.execute(
                    f"SELECT e.seq, e.received_at FROM party_events e WHERE {unsettled} "  # noqa: S608
                    "AND e.norce_id=? ORDER BY e.seq",
                    (kind, layout, party["norce_id"]),
                ).fetchall()
                seqs = tuple(int(r["seq"]) for r in rows)
                changes.append(Change(kind, int(party["norce_id"]), seqs, rows[0]["received_at"]))
                db.executemany(
                    "UPDATE party_events SET claimed_at=? WHERE seq=? AND claimed_at IS NULL",
                    [(at, seq) for seq in seqs],
                )
            return changes

    def settle(
        self,
        layout: str,
        changes: Sequence[Change],
        outcome: Outcome,
        reasons: dict[str, str],
        at: str,
    ) -> None:
        """Close these changes for `layout` without a file: gone from Norce, or held."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO party_outcomes (layout, seq, outcome, reason, at) VALUES (?,?,?,?,?)",
                [(layout, seq, outcome, reasons.get(c.ref), at) for c in changes for seq in c.seqs],
            )

    def release_held(self, layout: str | None = None) -> int:
        """Make held changes due again (after the layout's policy was changed)."""
        return self._release("held", layout)

    def release_forgotten(self, layout: str | None = None) -> int:
        """Make changes booked `forgotten` due again: a real customer the detector took for a
        forgotten one (after the layout's `[forgotten]` settings were corrected)."""
        return self._release("forgotten", layout)

    def _release(self, outcome: Outcome, layout: str | None) -> int:
        with self._tx() as db:
            if layout is None:
                cur = db.execute("DELETE FROM party_outcomes WHERE outcome=?", (outcome,))
            else:
                cur = db.execute(
                    "DELETE FROM party_outcomes WHERE outcome=? AND layout=?", (outcome, layout)
                )
            return cur.rowcount

    # -- exports -----------------------------------------------------------------------------

    def begin_export(
        self,
        export_id: str,
        layout: str,
        file_name: str,
        changes: Sequence[Change],
        sha256: str,
        size: int,
        at: str,
        forgotten: Collection[str] = (),
    ) -> None:
        """Before the upload: this file, with these changes, is on its way.

        The parties in `forgotten` (refs) went as a forgotten marker, and are booked so.
        """
        with self._tx() as db:
            self._begin_file(db, (export_id, layout, file_name), sha256, size, at)
            db.executemany(
                "INSERT INTO party_outcomes (layout, seq, outcome, export_id, at) "
                "VALUES (?,?,?,?,?)",
                [
                    (layout, seq, "forgotten" if c.ref in forgotten else "exported", export_id, at)
                    for c in changes
                    for seq in c.seqs
                ],
            )

    def finish_export(self, export_id: str, at: str) -> None:
        """After the upload and its check: the file is the ERP's now."""
        with self._tx() as db:
            self._finish_file(db, export_id, at)

    def abandon_export(self, export_id: str) -> None:
        """Forget an export that never reached the ERP: its changes are due again."""
        with self._tx() as db:
            db.execute("DELETE FROM party_outcomes WHERE export_id=?", (export_id,))
            db.execute("DELETE FROM party_exports WHERE export_id=?", (export_id,))

    def exports(self, layout: str) -> list[ExportRow]:
        """Every export of `layout`, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM party_exports WHERE layout=? ORDER BY created_at", (layout,)
        ).fetchall()
        return [self._export(r) for r in rows]

    # -- for people ------------------------------------------------------------------------

    def events(self, limit: int = 200) -> list[EventRow]:
        """The latest events, newest first, with each layout's outcome."""
        rows = self._db.execute(
            "SELECT * FROM party_events ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._event(r) for r in rows]

    def _event(self, row: sqlite3.Row) -> EventRow:
        outcomes = self._db.execute(
            "SELECT o.layout, o.outcome, o.reason, x.file_name, x.state FROM party_outcomes o "
            "LEFT JOIN party_exports x USING (export_id) WHERE o.seq=? ORDER BY o.layout",
            (row["seq"],),
        )
        return EventRow(
            seq=row["seq"],
            kind=row["kind"],
            norce_id=row["norce_id"],
            event=row["event"],
            source=row["source"],
            received_at=row["received_at"],
            outcomes=tuple(
                (
                    str(o["layout"]),
                    "uploading" if o["state"] == "uploading" else str(o["outcome"]),
                    o["file_name"] or o["reason"],
                )
                for o in outcomes
            ),
        )

    def _refs_of(self, export_id: str) -> tuple[str, ...]:
        ids = self._db.execute(
            "SELECT DISTINCT e.norce_id FROM party_outcomes o JOIN party_events e USING (seq) "
            "WHERE o.export_id=? ORDER BY e.norce_id",
            (export_id,),
        )
        return tuple(str(r["norce_id"]) for r in ids)

"""The feed ledger (etl.state.ledger.base) in SQLite (WAL) or PostgreSQL: files, runs, holds.

The commit of a run is one transaction here: the run's outcome, the file's content hash and
the feed's current snapshot move together, or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from etl.state.ledger.base import (
    DIED_BEFORE_COMMIT,
    DIED_READING,
    Commit,
    ContentAlreadyCommitted,
    FeedLedger,
    Replay,
    RunRow,
    SnapshotMoved,
)
from etl.state.ledger.connection import Tables

# Its tables (files, seen, runs, snapshots, reading, replays, holds) are created by
# etl.state.ledger.migrations, the one owner of the ledger's schema.


# A replay with its reason (kept in a table of its own since the reasons came).
_REPLAYS = (
    "SELECT p.*, COALESCE(w.why, '') AS why FROM replays p "
    "LEFT JOIN replay_reasons w USING (feed, of_run, asked_at) "
)


# The feed's newest committed file run: what its current content is.
_LATEST_COMMITTED_FILE = (
    "SELECT run_id, sha256 FROM runs WHERE feed=? AND kind='file' AND outcome='committed' "
    "ORDER BY finished_at DESC, rowid DESC LIMIT 1"
)


class Ledger(Tables, FeedLedger):
    """The `FeedLedger` (SQLite or PostgreSQL), shared by the scheduler, `once` runs and the CLI."""

    def start_run(
        self,
        run_id: str,
        feed: str,
        kind: str,
        started_at: str,
        remote_path: str | None,
        sha: str | None,
    ) -> None:
        """Record that a run began (outcome `running` until it ends)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, feed, kind, remote_path, sha256, started_at, outcome) "
                "VALUES (?,?,?,?,?,?,?)",
                (run_id, feed, kind, remote_path, sha, started_at, "running"),
            )

    def fail_run(
        self,
        run_id: str,
        finished_at: str,
        outcome: str,
        message: str,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """Record a run that ended without committing (failed, held file, interrupted).

        A run that already committed keeps its outcome: what failed after the commit (tidying
        up) unmade nothing, and a `failed` record would make recovery drop its archive folder.
        """
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET outcome=?, finished_at=?, message=?, counts=? "
                "WHERE run_id=? AND outcome NOT IN ('committed', 'rejected', 'duplicate')",
                (outcome, finished_at, message, json.dumps(dict(counts or {})), run_id),
            )

    def commit(self, c: Commit) -> None:
        """Make a run's results true at once: run row, file hash, snapshot pointer, hold.

        A file run whose content another file run just committed (two workers took the same
        file) raises ContentAlreadyCommitted and writes nothing.
        """
        with self._tx() as db:
            if c.file is not None and c.file_state == "committed":
                _refuse_a_second_commit(db, c.feed, c.file[0], c.run_id)
            if c.checks_base:
                _refuse_a_stale_base(db, c)
            db.execute(
                "UPDATE runs SET outcome=?, finished_at=?, counts=?, job_ids=?, archive_dir=?, message=? "
                "WHERE run_id=?",
                (
                    c.outcome,
                    c.finished_at,
                    json.dumps(dict(c.counts)),
                    json.dumps(c.job_ids),
                    c.archive_dir,
                    c.message,
                    c.run_id,
                ),
            )
            if c.file is not None:
                sha, remote, size, mtime = c.file
                # Every finished file is known by its listing, so it is never fetched again...
                db.execute(
                    "INSERT INTO seen VALUES (?,?,?,?,?,?) ON CONFLICT (feed, remote_path, size, "
                    "mtime) DO UPDATE SET state=excluded.state, run_id=excluded.run_id",
                    (c.feed, remote, size, mtime, c.file_state, c.run_id),
                )
                # ...and committed or rejected content by its hash (a commit wins over a rejection).
                if c.file_state in ("committed", "rejected"):
                    db.execute(
                        "INSERT INTO files VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(feed, sha256) DO UPDATE "
                        "SET state=excluded.state, run_id=excluded.run_id, at=excluded.at "
                        "WHERE excluded.state='committed'",
                        (c.feed, sha, remote, size, mtime, c.file_state, c.run_id, c.finished_at),
                    )
            if c.snapshot is not None:
                db.execute(
                    "INSERT INTO snapshots VALUES (?,?,?,?) ON CONFLICT(feed) DO UPDATE SET path=excluded.path, "
                    "run_id=excluded.run_id, rows=excluded.rows",
                    (c.feed, c.snapshot[0], c.run_id, c.snapshot[1]),
                )
            if c.hold is not None or c.released_hold is not None or c.ends_holds:
                # A newer hold or an approval replaces every older pending hold of the feed.
                db.execute(
                    "UPDATE holds SET state='superseded', decided_at=?, decided_by=? WHERE feed=? AND state='pending'",
                    (c.finished_at, c.run_id, c.feed),
                )
            if c.released_hold is not None:
                db.execute(
                    "UPDATE holds SET state='approved', decided_at=?, decided_by=? WHERE run_id=?",
                    (c.finished_at, c.run_id, c.released_hold),
                )
            if c.hold is not None:
                db.execute(
                    "INSERT INTO holds VALUES (?,?,?,?,?,?,NULL,NULL)",
                    (c.run_id, c.feed, c.finished_at, c.hold[0], c.hold[1], "pending"),
                )

    def committed_run(self, feed: str, sha: str) -> str | None:
        """The run that committed this content in this feed, if any."""
        row = self._db.execute(
            "SELECT run_id FROM files WHERE feed=? AND sha256=? AND state='committed'", (feed, sha)
        ).fetchone()
        return str(row["run_id"]) if row else None

    def finished_run(self, feed: str, sha: str) -> str | None:
        """The run that committed or rejected this content in this feed, if any."""
        row = self._db.execute(
            "SELECT run_id FROM files WHERE feed=? AND sha256=? AND state IN ('committed', 'rejected')",
            (feed, sha),
        ).fetchone()
        return str(row["run_id"]) if row else None

    def listing_sha(self, feed: str, remote_path: str, size: int, mtime: float) -> str | None:
        """Content hash of the file known by exactly this listing, if a run of it read it."""
        row = self._db.execute(
            "SELECT r.sha256 FROM seen s JOIN runs r ON r.run_id = s.run_id "
            "WHERE s.feed=? AND s.remote_path=? AND s.size=? AND s.mtime=?",
            (feed, remote_path, size, mtime),
        ).fetchone()
        return str(row["sha256"]) if row and row["sha256"] else None

    def latest_committed_sha(self, feed: str) -> str | None:
        """Content hash of the file the feed's current snapshot came from."""
        row = self._db.execute(_LATEST_COMMITTED_FILE, (feed,)).fetchone()
        return str(row["sha256"]) if row else None

    def known_listing(self, feed: str, remote_path: str, size: int, mtime: float) -> str | None:
        """How a file with exactly this name, size and mtime ended, if it was seen before."""
        row = self._db.execute(
            "SELECT state FROM seen WHERE feed=? AND remote_path=? AND size=? AND mtime=?",
            (feed, remote_path, size, mtime),
        ).fetchone()
        return str(row["state"]) if row else None

    def current_snapshot(self, feed: str) -> tuple[str, str, int] | None:
        """(path, run id, rows) of the feed's current snapshot."""
        row = self._db.execute(
            "SELECT path, run_id, rows FROM snapshots WHERE feed=?", (feed,)
        ).fetchone()
        return (row["path"], row["run_id"], row["rows"]) if row else None

    def interrupt_stale(self, feed: str, at: str) -> int:
        """Mark runs left `running` by a dead process; call only while holding the feed lock.

        A run that died while it read its file says so (`DIED_READING`): twice on the same
        file, and the file is quarantined (`reading_deaths`).
        """
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET outcome='interrupted', finished_at=?, message=CASE WHEN "
                "run_id IN (SELECT run_id FROM reading) THEN ? ELSE ? END "
                "WHERE feed=? AND outcome='running'",
                (at, DIED_READING, DIED_BEFORE_COMMIT, feed),
            )
            db.execute(
                "DELETE FROM reading WHERE run_id NOT IN "
                "(SELECT run_id FROM runs WHERE outcome='running')"
            )
            return cur.rowcount

    def begin_reading(self, run_id: str) -> None:
        """The run is reading its file now: a death from here on is the file's doing."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO reading VALUES (?)", (run_id,))

    def end_reading(self, run_id: str) -> None:
        """The run read its file (or refused it) and lives on."""
        with self._tx() as db:
            db.execute("DELETE FROM reading WHERE run_id=?", (run_id,))

    def reading_deaths(self, feeds: Sequence[str], sha: str) -> list[str]:
        """Runs of `feeds` that died reading the file `sha` since it was last set aside."""
        marks = ",".join("?" * len(feeds))
        rows = self._db.execute(
            f"SELECT run_id FROM runs WHERE feed IN ({marks}) AND sha256=? "  # noqa: S608
            "AND outcome='interrupted' AND message=? AND started_at > COALESCE(("
            f"SELECT MAX(started_at) FROM runs WHERE feed IN ({marks}) AND sha256=? "
            "AND outcome='rejected'), '') ORDER BY started_at",
            (*feeds, sha, DIED_READING, *feeds, sha),
        ).fetchall()
        return [row["run_id"] for row in rows]

    def hold(self, run_id: str) -> dict[str, Any] | None:
        """One hold by the run that created it."""
        row = self._db.execute("SELECT * FROM holds WHERE run_id=?", (run_id,)).fetchone()
        return dict(row) if row else None

    def set_hold_state(self, run_id: str, state: str, at: str) -> None:
        """Move a hold to `state` (approving: deactivations are about to be sent)."""
        with self._tx() as db:
            db.execute("UPDATE holds SET state=?, decided_at=? WHERE run_id=?", (state, at, run_id))

    def claim_approval(self, run_id: str, at: str) -> bool:
        """Move a pending (or half-approved) hold to `approving`; False if it was decided meanwhile.

        One statement, so a run on another machine that supersedes the hold between an
        approval's look and its claim cannot have its own hold approved in its place.
        """
        with self._tx() as db:
            claimed = db.execute(
                "UPDATE holds SET state='approving', decided_at=? "
                "WHERE run_id=? AND state IN ('pending', 'approving')",
                (at, run_id),
            )
            return bool(claimed.rowcount == 1)

    def holds_in_state(self, feed: str, state: str) -> list[str]:
        """Run ids of the feed's holds in `state`, oldest first."""
        rows = self._db.execute(
            "SELECT run_id FROM holds WHERE feed=? AND state=? ORDER BY created_at", (feed, state)
        )
        return [str(r["run_id"]) for r in rows]

    def pending_holds(self) -> list[dict[str, Any]]:
        """Holds waiting for an operator."""
        return [
            dict(r)
            for r in self._db.execute(
                "SELECT * FROM holds WHERE state IN ('pending', 'approving') ORDER BY created_at"
            )
        ]

    def runs(self, feed: str | None = None, limit: int = 20) -> list[RunRow]:
        """Most recent runs first, optionally of one feed."""
        if feed is None:
            rows = self._db.execute(
                "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,)
            )
        else:
            rows = self._db.execute(
                "SELECT * FROM runs WHERE feed=? ORDER BY started_at DESC, rowid DESC LIMIT ?",
                (feed, limit),
            )
        return [_run_row(r) for r in rows]

    def run(self, run_id: str) -> RunRow | None:
        """One run by id."""
        row = self._db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return _run_row(row) if row else None

    def ask_replay(self, replay: Replay) -> bool:
        """Queue a replay; False when one of the same run is still waiting."""
        if any(r.of_run == replay.of_run for r in self.pending_replays(replay.feed)):
            return False
        with self._tx() as db:
            db.execute(
                "INSERT INTO replays VALUES (?,?,?,?,?,NULL)",
                (replay.feed, replay.of_run, replay.sha256, replay.input, replay.asked_at),
            )
            if replay.why:
                db.execute(
                    "INSERT INTO replay_reasons VALUES (?,?,?,?)",
                    (replay.feed, replay.of_run, replay.asked_at, replay.why),
                )
        return True

    def pending_replays(self, feed: str) -> list[Replay]:
        """Replays not done yet, oldest first: done is a run of it that committed or rejected.

        The replay's own run is the marker, so a replay that failed or died halfway is
        simply taken again by the next run.
        """
        rows = self._db.execute(
            _REPLAYS + "LEFT JOIN runs r ON r.run_id = p.run_id WHERE p.feed=? "
            "AND (r.outcome IS NULL OR r.outcome NOT IN ('committed', 'rejected')) "
            "ORDER BY p.asked_at",
            (feed,),
        )
        return [_replay(r) for r in rows]

    def start_replay(self, replay: Replay, run_id: str) -> None:
        """The run that takes the replay now."""
        with self._tx() as db:
            db.execute(
                "UPDATE replays SET run_id=? WHERE feed=? AND of_run=? AND asked_at=?",
                (run_id, replay.feed, replay.of_run, replay.asked_at),
            )

    def replay_taken_by(self, run_id: str) -> Replay | None:
        """The replay the run `run_id` takes, if it takes one."""
        row = self._db.execute(
            _REPLAYS + "WHERE p.run_id=?",
            (run_id,),
        ).fetchone()
        return _replay(row) if row else None

    def set_message(self, run_id: str, message: str) -> None:
        """Replace a run's message (a replay refused whole: which run it replays, and why)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET message=? WHERE run_id=?", (message, run_id))

    def archived_runs(self, feed: str) -> list[RunRow]:
        """The feed's runs that archived a file (committed or rejected), newest first."""
        rows = self._db.execute(
            "SELECT * FROM runs WHERE feed=? AND kind IN ('file', 'replay') AND archive_dir "
            "IS NOT NULL AND outcome IN ('committed', 'rejected') ORDER BY started_at DESC, "
            "rowid DESC",
            (feed,),
        )
        return [_run_row(r) for r in rows]

    def latest_file_run(self, feed: str) -> RunRow | None:
        """The feed's newest run that committed or rejected a file, however many runs since."""
        row = self._db.execute(
            # A file's own run or its replay; an approval or a documents run reads no file.
            "SELECT * FROM runs WHERE feed=? AND outcome IN ('committed', 'rejected') "
            "AND kind IN ('file', 'replay') "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (feed,),
        ).fetchone()
        return _run_row(row) if row else None

    def snapshot_paths(self, feed: str) -> set[str]:
        """Snapshot files a commit points at (only the current one)."""
        current = self.current_snapshot(feed)
        return {current[0]} if current else set()


def _refuse_a_second_commit(db: sqlite3.Connection, feed: str, sha: str, run_id: str) -> None:
    """Inside the commit's transaction (writers one at a time): first come, first committed.

    Refused: a file run whose content is already the feed's latest committed file, committed
    by another run (two runs took the same file). Content that comes back after other
    content commits again, and a replay commits on purpose.
    """
    mine = db.execute("SELECT kind FROM runs WHERE run_id=?", (run_id,)).fetchone()
    latest = db.execute(_LATEST_COMMITTED_FILE, (feed,)).fetchone()
    if mine is None or mine["kind"] != "file" or latest is None:
        return
    if latest["sha256"] == sha and latest["run_id"] != run_id:
        raise ContentAlreadyCommitted(
            f"{feed}: run {latest['run_id']} committed this content first; run {run_id} "
            "wrote nothing"
        )


def _refuse_a_stale_base(db: sqlite3.Connection, c: Commit) -> None:
    """Inside the commit's transaction: the snapshot pointer moves only from the run's base.

    Refused: a commit whose base is no longer the feed's current snapshot (another machine
    committed a run or an approval in between: this delta is stale), and a run's commit
    while an approval of the feed is under way (its deactivations may be in flight: the
    approval commits first, the file is taken again against its snapshot).
    """
    row = db.execute("SELECT path FROM snapshots WHERE feed=?", (c.feed,)).fetchone()
    current = row["path"] if row else None
    if current != c.base:
        raise SnapshotMoved(
            f"the current snapshot changed while run {c.run_id} ran (now {current}, "
            f"it diffed against {c.base}); nothing committed, the file is taken again"
        )
    if c.released_hold is None:
        approving = db.execute(
            "SELECT run_id FROM holds WHERE feed=? AND state='approving'", (c.feed,)
        ).fetchone()
        if approving is not None:
            raise SnapshotMoved(
                f"the approval of run {approving['run_id']} is under way; run "
                f"{c.run_id} committed nothing, the file is taken again after it"
            )


def _replay(row: sqlite3.Row) -> Replay:
    return Replay(
        row["feed"], row["of_run"], row["sha256"], row["input"], row["asked_at"], row["why"]
    )


def _run_row(row: sqlite3.Row) -> RunRow:
    return RunRow(
        run_id=row["run_id"],
        feed=row["feed"],
        kind=row["kind"],
        remote_path=row["remote_path"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=row["outcome"],
        counts=json.loads(row["counts"]),
        job_ids=json.loads(row["job_ids"]),
        archive_dir=row["archive_dir"],
        message=row["message"],
        sha256=row["sha256"],
    )

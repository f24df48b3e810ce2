"""The ledger seam: what the feed runs remember between runs and processes.

A feed ledger knows the files taken (by listing and by content hash), the runs and how each
ended, the feed's current snapshot, the files being read, the held deletions and the
replays asked for. `commit` makes a run's results true at once, or not at all. The
`Ledger` (etl.state.ledger.feed_runs) implements it over SQLite or PostgreSQL (the same SQL,
etl.state.ledger.connection), both passing tests/state/ledger/test_ledger_contract.py.

Times are ISO-8601 text, compared as text: callers pass them in one format (`Runtime.stamp`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from etl.errors import EtlError

# A run left `running` by a dead process ends `interrupted` with one of these messages;
# twice DIED_READING on the same content and the file is quarantined (`reading_deaths`).
DIED_BEFORE_COMMIT = "process stopped before commit"
DIED_READING = "process stopped while reading the file"


class ContentAlreadyCommitted(EtlError):
    """Another run of the feed committed this content first: this run's commit wrote nothing.

    Two runs of one file race only when the feed lock is not shared (workers on several
    machines); the ledger keeps the file committed once whatever the lock did.
    """


class SnapshotMoved(EtlError):
    """The feed's current snapshot is no longer the one this run diffed against: its commit
    wrote nothing (a run or an approval on another machine committed in between, or an
    approval of the feed is under way); the file is taken again, against the new snapshot."""


@dataclass(frozen=True)
class RunRow:
    """One run as `status` shows it."""

    run_id: str
    feed: str
    kind: str
    remote_path: str | None
    started_at: str
    finished_at: str | None
    outcome: str
    counts: dict[str, int]
    job_ids: list[str]
    archive_dir: str | None
    message: str | None
    sha256: str | None = None  # of the file the run read


@dataclass(frozen=True)
class Replay:
    """An archived file an operator asked to have taken again (`run.py replay`)."""

    feed: str
    of_run: str  # the run that took it before
    sha256: str
    input: str  # the archived copy, inside that run's folder
    asked_at: str
    why: str = ""  # the operator's reason (`--why`), recorded with the run that takes it


@dataclass(frozen=True)
class Commit:
    """Everything that becomes true together when a run commits."""

    run_id: str
    feed: str
    outcome: str  # committed | rejected | duplicate
    finished_at: str
    counts: Mapping[str, int]
    job_ids: list[str]
    archive_dir: str | None
    message: str | None = None
    file: tuple[str, str, int, float] | None = None  # (sha256, remote_path, size, mtime)
    file_state: str = "committed"
    snapshot: tuple[str, int] | None = None  # (path, rows)
    hold: tuple[int, str] | None = None  # (removals, reason)
    released_hold: str | None = None  # run id of a hold this run approved
    ends_holds: bool = False  # the new snapshot holds nothing: pending holds are superseded
    # Compare-and-set of the snapshot pointer: with `checks_base` the commit is refused
    # (SnapshotMoved) unless the current snapshot is still `base` (None: the feed had none).
    checks_base: bool = False
    base: str | None = None


class FeedLedger(Protocol):
    """Files, runs, snapshots, holds and replays of the feeds; shared by every process."""

    # -- runs

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
        ...

    def fail_run(
        self,
        run_id: str,
        finished_at: str,
        outcome: str,
        message: str,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """Record a run that ended without committing; a committed run keeps its outcome."""
        ...

    def commit(self, c: Commit) -> None:
        """Make a run's results true at once: run row, file hash, snapshot pointer, hold."""
        ...

    def run(self, run_id: str) -> RunRow | None:
        """One run by id."""
        ...

    def runs(self, feed: str | None = None, limit: int = 20) -> list[RunRow]:
        """Most recent runs first, optionally of one feed."""
        ...

    def archived_runs(self, feed: str) -> list[RunRow]:
        """The feed's runs that archived a file (committed or rejected), newest first."""
        ...

    def latest_file_run(self, feed: str) -> RunRow | None:
        """The feed's newest file or replay run that committed or rejected, however many runs since."""
        ...

    def interrupt_stale(self, feed: str, at: str) -> int:
        """Mark runs left `running` by a dead process; call only while holding the feed lock."""
        ...

    # -- files

    def committed_run(self, feed: str, sha: str) -> str | None:
        """The run that committed this content in this feed, if any."""
        ...

    def finished_run(self, feed: str, sha: str) -> str | None:
        """The run that committed or rejected this content in this feed, if any."""
        ...

    def known_listing(self, feed: str, remote_path: str, size: int, mtime: float) -> str | None:
        """How a file with exactly this name, size and mtime ended, if it was seen before."""
        ...

    def listing_sha(self, feed: str, remote_path: str, size: int, mtime: float) -> str | None:
        """Content hash of the file known by exactly this listing, if a run of it read it."""
        ...

    def latest_committed_sha(self, feed: str) -> str | None:
        """Content hash of the file the feed's current snapshot came from."""
        ...

    # -- snapshots

    def current_snapshot(self, feed: str) -> tuple[str, str, int] | None:
        """(path, run id, rows) of the feed's current snapshot."""
        ...

    def snapshot_paths(self, feed: str) -> set[str]:
        """Snapshot files a commit points at (only the current one)."""
        ...

    # -- reading: a death while reading is the file's doing

    def begin_reading(self, run_id: str) -> None:
        """The run is reading its file now: a death from here on is the file's doing."""
        ...

    def end_reading(self, run_id: str) -> None:
        """The run read its file (or refused it) and lives on."""
        ...

    def reading_deaths(self, feeds: Sequence[str], sha: str) -> list[str]:
        """Runs of `feeds` that died reading the file `sha` since it was last set aside."""
        ...

    # -- holds (deletions over the guard)

    def hold(self, run_id: str) -> dict[str, Any] | None:
        """One hold by the run that created it."""
        ...

    def set_hold_state(self, run_id: str, state: str, at: str) -> None:
        """Move a hold to `state` (approving: deactivations are about to be sent)."""
        ...

    def holds_in_state(self, feed: str, state: str) -> list[str]:
        """Run ids of the feed's holds in `state`, oldest first."""
        ...

    def pending_holds(self) -> list[dict[str, Any]]:
        """Holds waiting for an operator (pending or approving), oldest first."""
        ...

    # -- replays

    def ask_replay(self, replay: Replay) -> bool:
        """Queue a replay; False when one of the same run is still waiting."""
        ...

    def pending_replays(self, feed: str) -> list[Replay]:
        """Replays not done yet (no run of it committed or rejected), oldest first."""
        ...

    def start_replay(self, replay: Replay, run_id: str) -> None:
        """The run that takes the replay now."""
        ...

    def replay_taken_by(self, run_id: str) -> Replay | None:
        """The replay the run `run_id` takes, if it takes one."""
        ...

    def set_message(self, run_id: str, message: str) -> None:
        """Replace a run's message (a replay refused whole: which run it replays, and why)."""
        ...

    def close(self) -> None:
        """Release the connection; the ledger may not be used afterwards."""
        ...

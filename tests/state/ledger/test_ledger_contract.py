"""The FeedLedger contract: every test here runs against every implementation (SQLite, PostgreSQL).

What the feed runs, approvals, replays, recovery and `status` rely on: a file is taken once
by its content, per feed; a run is `running` until it commits or fails, and a commit is never
unmade; the snapshot pointer, the file, the run and the holds move together in one commit or
not at all; a death while reading is told from a death after it; a newer hold supersedes older
ones and an approval releases one; a replay is pending until a run of it commits or rejects;
a ledger opened again, or open in another process at the same time, sees every commit.
Specific behaviour of the SQLite ledger (its schema, its migrations) is tested beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from etl.state.ledger.base import (
    DIED_BEFORE_COMMIT,
    DIED_READING,
    Commit,
    ContentAlreadyCommitted,
    FeedLedger,
    Replay,
    RunRow,
)
from etl.state.ledger.connection import LedgerAt
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt

FEED, OTHER = "products", "prices"
SHA, SHA2 = "a" * 64, "b" * 64
LISTING = ("exports/p.csv", 120, 1_700_000_000.0)  # remote path, size, mtime


def at(second: int) -> str:
    """A time as the runtime stamps it; later seconds sort later."""
    return f"2026-12-06T10:{second // 60:02}:{second % 60:02}+00:00"


@dataclass
class Backend:
    """A ledger implementation under test: opens connections to one and the same ledger."""

    kind: str
    factory: Callable[[], FeedLedger]
    opened: list[FeedLedger] = field(default_factory=list)

    def open(self) -> FeedLedger:
        """A new connection, as another process (or the same one after a restart) opens it."""
        ledger = self.factory()
        self.opened.append(ledger)
        return ledger


@pytest.fixture
def backend(ledger_at: LedgerAt) -> Iterator[Backend]:
    """Every FeedLedger implementation in turn (SQLite, PostgreSQL), over an empty ledger."""
    kind = "postgresql" if isinstance(ledger_at, PostgresAt) else "sqlite"
    chosen = Backend(kind, lambda: Ledger(ledger_at))
    yield chosen
    for ledger in chosen.opened:
        ledger.close()


@pytest.fixture
def ledger(backend: Backend) -> FeedLedger:
    """An open ledger of the kind under test."""
    return backend.open()


def start(
    ledger: FeedLedger, run_id: str, second: int, *, feed: str = FEED, sha: str = SHA
) -> None:
    """A file run of `feed` reading content `sha`."""
    ledger.start_run(run_id, feed, "file", at(second), LISTING[0], sha)


def commit(
    ledger: FeedLedger,
    run_id: str,
    second: int,
    *,
    feed: str = FEED,
    sha: str = SHA,
    outcome: str = "committed",
    snapshot: tuple[str, int] | None = None,
    hold: tuple[int, str] | None = None,
    ends_holds: bool = False,
) -> None:
    """Commit a run that read `sha` under LISTING (a rejected run's file stays rejected)."""
    state = "rejected" if outcome == "rejected" else "committed"
    archive = f"archive/{run_id}"
    ledger.commit(
        Commit(run_id, feed, outcome, at(second), {"rows": 3}, ["4712"], archive,
               file=(sha, *LISTING), file_state=state, snapshot=snapshot, hold=hold,
               ends_holds=ends_holds)
    )  # fmt: skip


def outcome(ledger: FeedLedger, run_id: str) -> tuple[str, str | None]:
    """A run's outcome and message."""
    run = ledger.run(run_id)
    assert run is not None
    return run.outcome, run.message


# -- runs -----------------------------------------------------------------------------------


def test_a_started_run_is_running_until_it_ends(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)

    assert ledger.run("r1") == RunRow(
        "r1", FEED, "file", LISTING[0], at(0), None, "running", {}, [], None, None, SHA
    )
    assert ledger.run("nobody") is None


def test_a_commit_records_the_runs_results(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 5)

    run = ledger.run("r1")
    assert run is not None
    assert (run.outcome, run.finished_at, run.counts) == ("committed", at(5), {"rows": 3})
    assert (run.job_ids, run.archive_dir) == (["4712"], "archive/r1")


def test_a_failed_run_says_why_and_a_commit_is_never_unmade(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    start(ledger, "r2", 1)
    ledger.fail_run("r1", at(2), "failed", "Norce unavailable", {"rows": 2})
    commit(ledger, "r2", 3)

    ledger.fail_run("r2", at(4), "failed", "tidying up failed")  # after its commit

    assert outcome(ledger, "r1") == ("failed", "Norce unavailable")
    assert ledger.runs(FEED)[1].counts == {"rows": 2}
    assert outcome(ledger, "r2") == ("committed", None)


def test_runs_are_listed_newest_first_per_feed_or_all(ledger: FeedLedger) -> None:
    for n, feed in enumerate([FEED, OTHER, FEED, FEED]):
        start(ledger, f"r{n}", n, feed=feed)

    assert [r.run_id for r in ledger.runs(FEED)] == ["r3", "r2", "r0"]
    assert [r.run_id for r in ledger.runs(FEED, limit=2)] == ["r3", "r2"]
    assert [r.run_id for r in ledger.runs()] == ["r3", "r2", "r1", "r0"]


def test_archived_runs_are_the_committed_and_rejected_file_runs(ledger: FeedLedger) -> None:
    start(ledger, "kept", 0)
    commit(ledger, "kept", 1)
    start(ledger, "refused", 2, sha=SHA2)
    commit(ledger, "refused", 3, sha=SHA2, outcome="rejected")
    start(ledger, "failed", 4)
    ledger.fail_run("failed", at(5), "failed", "boom")
    ledger.start_run("approval", FEED, "approve", at(6), None, None)
    commit(ledger, "approval", 7)

    assert [r.run_id for r in ledger.archived_runs(FEED)] == ["refused", "kept"]
    assert ledger.archived_runs(OTHER) == []


def test_the_latest_file_run_is_found_behind_any_number_of_failed_runs(
    ledger: FeedLedger,
) -> None:
    assert ledger.latest_file_run(FEED) is None
    start(ledger, "kept", 0)
    commit(ledger, "kept", 1)
    start(ledger, "refused", 2, sha=SHA2)
    commit(ledger, "refused", 3, sha=SHA2, outcome="rejected")
    for n in range(120):  # listings that failed since: more than any window of runs
        ledger.start_run(f"list{n}", FEED, "list", at(4 + n), None, None)
        ledger.fail_run(f"list{n}", at(4 + n), "failed", "the folder does not exist")

    latest = ledger.latest_file_run(FEED)
    assert latest is not None and (latest.run_id, latest.outcome) == ("refused", "rejected")
    assert ledger.latest_file_run(OTHER) is None


def test_an_approval_or_a_documents_run_is_not_a_file_run(ledger: FeedLedger) -> None:
    # Found by review: approving an earlier hold made the approval the "latest file run", and
    # the problem of the rejected file that came last was resolved.
    start(ledger, "refused", 0, sha=SHA2)
    commit(ledger, "refused", 1, sha=SHA2, outcome="rejected")
    for n, kind in enumerate(("approve", "documents")):
        ledger.start_run(kind, FEED, kind, at(2 + n), None, None)
        ledger.commit(Commit(kind, FEED, "committed", at(2 + n), {}, [], None))

    latest = ledger.latest_file_run(FEED)
    assert latest is not None and latest.run_id == "refused"


# -- files: taken once by content, per feed -------------------------------------------------


def test_committed_content_is_known_by_its_hash_and_its_listing(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1)

    assert ledger.committed_run(FEED, SHA) == "r1"
    assert ledger.finished_run(FEED, SHA) == "r1"
    assert ledger.known_listing(FEED, *LISTING) == "committed"
    assert ledger.listing_sha(FEED, *LISTING) == SHA
    assert ledger.latest_committed_sha(FEED) == SHA
    # Another feed, another listing or other content: not taken.
    assert ledger.committed_run(OTHER, SHA) is None
    assert ledger.committed_run(FEED, SHA2) is None
    assert ledger.known_listing(FEED, LISTING[0], 121, LISTING[2]) is None
    assert ledger.known_listing(OTHER, *LISTING) is None


def test_rejected_content_is_finished_but_not_committed(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, outcome="rejected")

    assert ledger.committed_run(FEED, SHA) is None
    assert ledger.finished_run(FEED, SHA) == "r1"
    assert ledger.known_listing(FEED, *LISTING) == "rejected"
    assert ledger.latest_committed_sha(FEED) is None


def test_a_commit_of_the_content_wins_over_a_rejection_before_or_after(ledger: FeedLedger) -> None:
    start(ledger, "refused", 0)
    commit(ledger, "refused", 1, outcome="rejected")
    start(ledger, "taken", 2)
    commit(ledger, "taken", 3)
    start(ledger, "refused-again", 4)
    commit(ledger, "refused-again", 5, outcome="rejected")

    assert ledger.committed_run(FEED, SHA) == "taken"
    assert ledger.finished_run(FEED, SHA) == "taken"


def test_the_latest_committed_content_is_the_newest_committed_file(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1)
    start(ledger, "r2", 2, sha=SHA2)
    commit(ledger, "r2", 3, sha=SHA2)
    start(ledger, "r3", 4, sha="c" * 64)
    ledger.fail_run("r3", at(5), "failed", "boom")

    assert ledger.latest_committed_sha(FEED) == SHA2


# -- the snapshot pointer -------------------------------------------------------------------


def test_the_snapshot_pointer_moves_only_on_commit(ledger: FeedLedger) -> None:
    assert ledger.current_snapshot(FEED) is None
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, snapshot=("snapshots/products/r1.parquet", 3))
    start(ledger, "r2", 2, sha=SHA2)
    ledger.fail_run("r2", at(3), "failed", "Norce refused")
    start(ledger, "r3", 4, sha=SHA2)  # still running

    assert ledger.current_snapshot(FEED) == ("snapshots/products/r1.parquet", "r1", 3)
    assert ledger.snapshot_paths(FEED) == {"snapshots/products/r1.parquet"}
    commit(ledger, "r3", 5, sha=SHA2, snapshot=("snapshots/products/r3.parquet", 4))
    assert ledger.current_snapshot(FEED) == ("snapshots/products/r3.parquet", "r3", 4)
    assert ledger.snapshot_paths(FEED) == {"snapshots/products/r3.parquet"}
    assert ledger.current_snapshot(OTHER) is None and ledger.snapshot_paths(OTHER) == set()


def test_a_commit_that_cannot_be_recorded_whole_leaves_nothing_of_it(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, snapshot=("s/r1.parquet", 3), hold=(5, "too many removals"))

    # A second hold by the same run cannot be recorded: nothing else of that commit may be.
    with pytest.raises(Exception):  # noqa: B017 - each implementation raises its own
        commit(ledger, "r1", 2, sha=SHA2, snapshot=("s/again.parquet", 9), hold=(1, "again"))

    assert ledger.current_snapshot(FEED) == ("s/r1.parquet", "r1", 3)
    assert ledger.finished_run(FEED, SHA2) is None
    assert ledger.holds_in_state(FEED, "pending") == ["r1"]
    assert (ledger.runs(FEED)[0].finished_at, outcome(ledger, "r1")) == (at(1), ("committed", None))


# -- reading: a death while reading is the file's doing -------------------------------------


def test_runs_left_running_by_a_dead_process_are_interrupted(ledger: FeedLedger) -> None:
    start(ledger, "reading", 0)
    ledger.begin_reading("reading")
    start(ledger, "sending", 1)
    ledger.begin_reading("sending")
    ledger.end_reading("sending")
    start(ledger, "done", 2)
    commit(ledger, "done", 3)
    start(ledger, "elsewhere", 4, feed=OTHER)

    assert ledger.interrupt_stale(FEED, at(9)) == 2

    assert outcome(ledger, "reading") == ("interrupted", DIED_READING)
    assert outcome(ledger, "sending") == ("interrupted", DIED_BEFORE_COMMIT)
    assert outcome(ledger, "done") == ("committed", None)
    assert outcome(ledger, "elsewhere") == ("running", None)
    assert ledger.interrupt_stale(FEED, at(10)) == 0


def test_deaths_while_reading_a_file_count_until_it_is_set_aside(ledger: FeedLedger) -> None:
    # Families of feeds read one file: deaths in any of them count for it.
    for n, feed in enumerate([FEED, OTHER]):
        start(ledger, f"died{n}", n, feed=feed)
        ledger.begin_reading(f"died{n}")
        ledger.interrupt_stale(feed, at(n))
    start(ledger, "other-file", 5, sha=SHA2)
    ledger.begin_reading("other-file")
    ledger.interrupt_stale(FEED, at(6))

    assert ledger.reading_deaths([FEED, OTHER], SHA) == ["died0", "died1"]
    assert ledger.reading_deaths([FEED], SHA) == ["died0"]

    start(ledger, "quarantined", 10)
    commit(ledger, "quarantined", 11, outcome="rejected")
    assert ledger.reading_deaths([FEED, OTHER], SHA) == []


# -- holds ----------------------------------------------------------------------------------


def test_a_held_commit_waits_for_an_operator(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, hold=(120, "120 removals over the guard"))

    hold = ledger.hold("r1")
    assert hold is not None
    # The fields `status` and `approve` read.
    expected = {
        **{"run_id": "r1", "feed": FEED, "created_at": at(1), "removals": 120},
        **{"reason": "120 removals over the guard", "state": "pending", "decided_by": None},
    }
    assert {k: hold[k] for k in expected} == expected
    assert [h["run_id"] for h in ledger.pending_holds()] == ["r1"]
    assert ledger.holds_in_state(FEED, "pending") == ["r1"]
    assert ledger.hold("r2") is None


def test_a_newer_hold_supersedes_the_older(ledger: FeedLedger) -> None:
    for n in (1, 2):
        start(ledger, f"r{n}", 2 * n, sha=f"{n}" * 64)
        commit(ledger, f"r{n}", 2 * n + 1, sha=f"{n}" * 64, hold=(n, "over the guard"))

    old = ledger.hold("r1")
    assert old is not None and (old["state"], old["decided_by"]) == ("superseded", "r2")
    assert [h["run_id"] for h in ledger.pending_holds()] == ["r2"]


def test_an_approval_releases_its_hold(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, hold=(120, "over the guard"))
    ledger.set_hold_state("r1", "approving", at(2))

    # Approving still waits: a dead approval is finished by the feed's next run.
    assert [h["run_id"] for h in ledger.pending_holds()] == ["r1"]
    assert ledger.holds_in_state(FEED, "approving") == ["r1"]
    assert ledger.holds_in_state(FEED, "pending") == []
    ledger.start_run("a1", FEED, "approve", at(3), None, None)
    ledger.commit(Commit("a1", FEED, "committed", at(4), {}, [], None, released_hold="r1"))

    hold = ledger.hold("r1")
    assert hold is not None and (hold["state"], hold["decided_by"]) == ("approved", "a1")
    assert ledger.pending_holds() == []


def test_a_snapshot_that_holds_nothing_ends_the_pending_holds(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1, hold=(120, "over the guard"))
    start(ledger, "r2", 2, sha=SHA2)
    commit(ledger, "r2", 3, sha=SHA2, ends_holds=True)

    hold = ledger.hold("r1")
    assert hold is not None and hold["state"] == "superseded"
    assert ledger.pending_holds() == []


# -- replays --------------------------------------------------------------------------------


def test_a_replay_is_pending_until_a_run_of_it_commits(ledger: FeedLedger) -> None:
    replay = Replay(FEED, "r1", SHA, "archive/r1/p.csv", at(0))
    assert ledger.ask_replay(replay) is True
    assert ledger.ask_replay(Replay(FEED, "r1", SHA, "archive/r1/p.csv", at(1))) is False
    assert ledger.pending_replays(FEED) == [replay]
    assert ledger.pending_replays(OTHER) == []

    ledger.start_run("x1", FEED, "replay", at(2), None, SHA)
    ledger.start_replay(replay, "x1")
    ledger.fail_run("x1", at(3), "failed", "Norce unavailable")
    assert ledger.pending_replays(FEED) == [replay]  # taken again by the next run

    ledger.start_run("x2", FEED, "replay", at(4), None, SHA)
    ledger.start_replay(replay, "x2")
    commit(ledger, "x2", 5)
    assert ledger.pending_replays(FEED) == []
    assert ledger.ask_replay(Replay(FEED, "r1", SHA, "archive/r1/p.csv", at(6))) is True


# -- shared and lasting ---------------------------------------------------------------------


def test_a_ledger_opened_again_sees_what_was_committed(backend: Backend) -> None:
    first = backend.open()
    start(first, "r1", 0)
    commit(first, "r1", 1, snapshot=("s/r1.parquet", 3), hold=(7, "over the guard"))
    start(first, "r2", 2, sha=SHA2)
    first.close()
    backend.opened.remove(first)

    again = backend.open()

    assert again.committed_run(FEED, SHA) == "r1"
    assert again.current_snapshot(FEED) == ("s/r1.parquet", "r1", 3)
    assert [h["run_id"] for h in again.pending_holds()] == ["r1"]
    assert outcome(again, "r2") == ("running", None)  # for `interrupt_stale` to find


def test_two_open_ledgers_see_each_others_commits(backend: Backend) -> None:
    # The scheduler, `once` runs, the CLI and the receiver each open the ledger.
    scheduler, cli = backend.open(), backend.open()
    start(scheduler, "r1", 0)
    assert outcome(cli, "r1") == ("running", None)

    commit(scheduler, "r1", 1, snapshot=("s/r1.parquet", 3))

    assert cli.current_snapshot(FEED) == ("s/r1.parquet", "r1", 3)
    assert cli.committed_run(FEED, SHA) == "r1"


def test_two_runs_of_the_same_file_cannot_both_commit_it(backend: Backend) -> None:
    # Two workers took the same new file at once (on one VM the feed lock prevents that; across
    # machines the ledger must): the commits race, one wins, the other leaves nothing behind.
    runs = {"r1": backend.open(), "r2": backend.open()}
    for second, (run_id, ledger) in enumerate(runs.items()):
        start(ledger, run_id, second)
    ready, ended = threading.Barrier(len(runs)), dict[str, str]()

    def commit_as(run_id: str) -> None:
        ready.wait()
        try:
            commit(runs[run_id], run_id, 5, snapshot=(f"s/{run_id}.parquet", 3))
            ended[run_id] = "won"
        except ContentAlreadyCommitted:
            ended[run_id] = "lost"

    threads = [threading.Thread(target=commit_as, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ended.values()) == ["lost", "won"]
    winner, loser = sorted(runs, key=lambda run_id: ended[run_id] != "won")
    observer = backend.open()
    assert observer.committed_run(FEED, SHA) == winner
    assert observer.current_snapshot(FEED) == (f"s/{winner}.parquet", winner, 3)
    assert outcome(observer, loser) == ("running", None)  # its run fails as the caller says


def test_a_replay_commits_content_that_a_file_run_committed(ledger: FeedLedger) -> None:
    start(ledger, "r1", 0)
    commit(ledger, "r1", 1)
    ledger.start_run("x1", FEED, "replay", at(2), None, SHA)

    commit(ledger, "x1", 3)

    assert ledger.committed_run(FEED, SHA) == "x1"


def test_content_that_comes_back_after_other_content_commits_again(ledger: FeedLedger) -> None:
    for second, (run_id, sha) in enumerate([("r1", SHA), ("r2", SHA2), ("r3", SHA)]):
        start(ledger, run_id, 2 * second, sha=sha)
        commit(ledger, run_id, 2 * second + 1, sha=sha)

    assert ledger.committed_run(FEED, SHA) == "r3"
    assert ledger.latest_committed_sha(FEED) == SHA

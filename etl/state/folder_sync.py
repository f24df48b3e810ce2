"""A folder's fsync shared by every entry made in it before the fsync began.

A new spool body is durable once its file's data is fsync'd and its folder is fsync'd (the
entry naming it). The two may happen in either order, so the folder's part need not wait
for the file's: each writer notes its entry the moment the file is created (`note`), writes
and fsyncs its data, then waits (`wait`) for a folder fsync that *began after* its note. By
then such an fsync, run by another writer, has usually finished, and the writer does not
wait at all: an order waits for two durable steps in a row (its data, its ledger row), not
three (bench/receiver.py, issue 18 row 8).

One fsync at a time: a writer not yet covered leads the next round when nobody is at it,
else it sleeps until a round covers it or it is handed the lead (a lock per sleeper, as in
etl.state.group_commit). A failed fsync is never taken for a good one: every entry it was
to cover gets its error, even if a later fsync succeeds (Linux reports a write-back error
once, then forgets it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Sleeper:
    mark: int
    lead: bool = False  # set when it is woken to lead the next round
    wake: threading.Lock = field(default_factory=_held_lock)


@dataclass(frozen=True)
class _Failed:
    after: int  # the entries this failed fsync was to cover: after < mark <= upto
    upto: int
    error: BaseException


class SharedFolderSync:
    """Runs `sync` (a folder's fsync) for entries noted from any thread; one round at a time."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self._sync = sync
        self._lock = threading.Lock()
        self._noted = 0  # entries noted so far; an entry's mark is its number
        self._settled = 0  # every mark up to this has had its fsync (or its error)
        self._failed: list[_Failed] = []
        self._leading = False
        self._sleepers: list[_Sleeper] = []

    def note(self) -> int:
        """Note an entry just made in the folder; the mark to `wait` for."""
        with self._lock:
            self._noted += 1
            return self._noted

    def wait(self, mark: int) -> None:
        """Return once a folder fsync begun after `mark` was noted has finished; its error if
        it failed."""
        sleeper: _Sleeper | None = None
        with self._lock:
            lead = self._settled < mark and not self._leading
            if lead:
                self._leading = True
            elif self._settled < mark:
                sleeper = _Sleeper(mark)
                self._sleepers.append(sleeper)
        if sleeper is not None:
            sleeper.wake.acquire()  # until a round covers it, or it is handed the lead
            lead = sleeper.lead
        if lead:
            self._lead()
        for failed in self._failed:
            if failed.after < mark <= failed.upto:
                raise failed.error

    def _lead(self) -> None:
        """One fsync for every entry noted so far; wake those it covers, hand on the lead."""
        with self._lock:
            after, upto = self._settled, self._noted
        error: BaseException | None = None
        try:
            self._sync()
        except BaseException as exc:  # its callers get it (re-raised in their own threads)
            error = exc
        with self._lock:
            if error is not None:
                self._failed.append(_Failed(after, upto, error))
            self._settled = upto
            woken = [s for s in self._sleepers if s.mark <= upto]
            self._sleepers = [s for s in self._sleepers if s.mark > upto]
            successor = self._sleepers.pop(0) if self._sleepers else None
            self._leading = successor is not None
        for sleeper in woken:
            sleeper.wake.release()
        if successor is not None:
            successor.lead = True
            successor.wake.release()  # noted after this round began: it leads the next

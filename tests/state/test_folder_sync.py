"""A folder fsync shared by the entries made before it began (etl.state.folder_sync), and the
spool's bodies each covered by one: never answered before a folder fsync that began after the
body's file was created has finished."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from etl.state.folder_sync import SharedFolderSync
from etl.state.spool import Spool


class Disk:
    """A folder fsync that counts itself; the first `hold` rounds wait for `go`; the first
    `failing` rounds fail with EIO."""

    def __init__(self, hold: int = 0, failing: int = 0) -> None:
        self.rounds = 0
        self.hold, self.failing = hold, failing
        self.began = threading.Event()
        self.go = threading.Event()

    def sync(self) -> None:
        self.rounds += 1
        self.began.set()
        if self.rounds <= self.hold:
            assert self.go.wait(10)
        if self.rounds <= self.failing:
            raise OSError(errno.EIO, os.strerror(errno.EIO))


def test_an_entry_made_before_a_finished_fsync_began_is_not_synced_again() -> None:
    disk = Disk()
    shared = SharedFolderSync(disk.sync)
    early, late = shared.note(), shared.note()
    shared.wait(late)  # one fsync, begun after both entries were made
    shared.wait(early)
    assert disk.rounds == 1


def test_an_entry_made_while_an_fsync_runs_waits_for_the_next_one() -> None:
    disk = Disk(hold=1)
    shared = SharedFolderSync(disk.sync)
    first = shared.note()
    leader = threading.Thread(target=shared.wait, args=(first,))
    leader.start()
    assert disk.began.wait(10)
    during = shared.note()  # made after the running fsync began: it does not cover it
    returned: list[int] = []
    waiter = threading.Thread(target=lambda: (shared.wait(during), returned.append(disk.rounds)))
    waiter.start()
    time.sleep(0.1)
    assert returned == []
    disk.go.set()
    leader.join(10)
    waiter.join(10)
    assert returned == [2]  # returned only after a second fsync


def test_a_failed_fsync_fails_every_entry_it_was_to_cover_even_after_a_good_one() -> None:
    # Linux reports a write-back error once: the next fsync succeeds without the entry.
    disk = Disk(failing=1)
    shared = SharedFolderSync(disk.sync)
    first, second = shared.note(), shared.note()
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        shared.wait(first)
    after = shared.note()
    shared.wait(after)  # a good fsync, for an entry made after the failure
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        shared.wait(second)
    assert disk.rounds == 2


class TimedSpool(Spool):
    """The real spool, noting when each body's file was created and each folder fsync ran."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.created: dict[str, float] = {}
        self.syncs: list[tuple[float, float]] = []
        self._notes = threading.Lock()

    def _open_new(self, path: Path) -> int | None:
        fd = super()._open_new(path)
        self.created[path.name] = time.monotonic()
        return fd

    def _sync_folder(self) -> None:
        began = time.monotonic()
        super()._sync_folder()
        with self._notes:
            self.syncs.append((began, time.monotonic()))


def test_each_body_is_answered_after_a_folder_fsync_begun_after_its_file_was_made(
    tmp_path: Path,
) -> None:
    spool = TimedSpool(tmp_path / "spool")
    returned: dict[str, float] = {}

    def put(n: int) -> None:
        spooled = spool.put(f"R{n}", b'{"ClientOrderRef": "R%d"}' % n, "json")
        returned[spooled.name] = time.monotonic()

    threads = [threading.Thread(target=put, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(returned) == 40 == len(list(spool.folder.iterdir()))
    for name, answered in returned.items():
        made = spool.created[name]
        assert any(made <= began and ended <= answered for began, ended in spool.syncs), name
    assert len(spool.syncs) < 40  # shared

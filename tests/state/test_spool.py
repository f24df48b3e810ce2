"""The spool answers only for durable bodies, also when the same body arrives twice at once."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from etl.state.spool import Spool


class SlowDiskSpool(Spool):
    """A spool whose folder fsync takes a while, as on a busy disk; it notes when each ends."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.synced_at: list[float] = []

    def _sync_folder(self) -> None:
        time.sleep(0.5)
        super()._sync_folder()
        self.synced_at.append(time.monotonic())


def test_a_body_put_again_while_the_first_put_syncs_returns_only_once_it_is_durable(
    tmp_path: Path,
) -> None:
    # Found by review: the second put (a Norce retry) saw the renamed file and returned at
    # once, so the receiver answered 200 before the folder holding the body was fsync'd.
    (tmp_path / "spool").mkdir()
    spool = SlowDiskSpool(tmp_path / "spool")
    body = b'{"ClientOrderRef": "R1"}'
    returned: dict[str, float] = {}

    def put(name: str) -> None:
        spool.put("R1", body, "json")
        returned[name] = time.monotonic()

    first = threading.Thread(target=put, args=("first",))
    first.start()
    time.sleep(0.2)  # the first body is renamed into place; its folder fsync is under way
    put("retry")
    first.join()

    assert spool.synced_at, "the folder was never fsync'd"
    assert returned["retry"] >= spool.synced_at[0]
    assert returned["first"] >= spool.synced_at[0]


class FailingFolderSync:
    """os.fsync as a failing disk answers it: the first fsync of a folder fails with `code`,
    later ones succeed (Linux reports a write-back error once, then forgets it)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.failed = 0
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and not self.failed:
            self.failed += 1
            raise OSError(self.code, os.strerror(self.code))
        self._real(fd)


def test_a_folder_fsync_error_is_not_taken_for_a_durable_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by profiling issue 18: the folder fsync swallowed every OSError, so an EIO from
    # the disk still answered 200 for a body whose folder entry may be lost. Nor may the
    # fsync be tried again: the second one succeeds without the entry being on disk.
    (tmp_path / "spool").mkdir()
    disk = FailingFolderSync(errno.EIO)
    monkeypatch.setattr(os, "fsync", disk)
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        Spool(tmp_path / "spool").put("R1", b'{"ClientOrderRef": "R1"}', "json")
    assert disk.failed == 1


def test_a_file_system_that_cannot_fsync_folders_still_takes_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some network and FUSE file systems answer EINVAL to a folder fsync: nothing to wait for.
    (tmp_path / "spool").mkdir()
    monkeypatch.setattr(os, "fsync", FailingFolderSync(errno.EINVAL))
    spooled = Spool(tmp_path / "spool").put("R1", b'{"ClientOrderRef": "R1"}', "json")
    assert spooled.path.read_bytes() == b'{"ClientOrderRef": "R1"}'

"""A folder's fsync (etl.state.atomic.fsync_dir) raises a disk's I/O error; only a file system
that cannot fsync folders at all is let by. A spool body whose folder fsync failed is written
afresh when Norce sends it again, so its retry is not answered OK on a name never synced."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from etl.state.atomic import fsync_dir, fsync_dir_or_log, write_atomically
from etl.state.spool import Spool
from tests.support.failing_disk import FailingFolderSync

BODY = b'{"ClientOrderRef": "R1"}'


def test_an_io_error_of_a_folder_fsync_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", FailingFolderSync(errno.EIO))
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        fsync_dir(tmp_path)


def test_a_durable_write_fails_when_its_folder_cannot_be_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", FailingFolderSync(errno.EIO))
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        write_atomically(tmp_path / "state.json", b"{}")


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EBADF, errno.ENOTSUP])
def test_a_file_system_that_refuses_folder_fsyncs_is_let_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(os, "fsync", FailingFolderSync(code))
    fsync_dir(tmp_path)
    write_atomically(tmp_path / "state.json", b"{}")
    assert (tmp_path / "state.json").read_bytes() == b"{}"


def test_a_tidy_up_logs_the_error_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "fsync", FailingFolderSync(errno.EIO))
    with caplog.at_level(logging.ERROR, logger="etl.state.atomic"):
        fsync_dir_or_log(tmp_path, "archiving")
    assert "archiving" in caplog.text and os.strerror(errno.EIO) in caplog.text


def test_the_retry_after_a_failed_folder_fsync_is_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spool").mkdir()
    monkeypatch.setattr(os, "fsync", FailingFolderSync(errno.EIO))
    spool = Spool(tmp_path / "spool")
    with pytest.raises(OSError):
        spool.put("R1", BODY, "json")  # the receiver answers 503
    [left] = (tmp_path / "spool").iterdir()
    inode = left.stat().st_ino
    spooled = spool.put("R1", BODY, "json")  # Norce's retry
    # A fresh rename: the folder's next fsync has the entry to write (Linux forgot the error).
    assert spooled.path == left
    assert spooled.path.stat().st_ino != inode
    assert spooled.path.read_bytes() == BODY
    assert [p.name for p in (tmp_path / "spool").iterdir()] == [left.name]

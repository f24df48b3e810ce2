"""A disk error on the party spool (its folder's fsync) is answered 503 Failed, as for an
order: the event may not be kept, so no OK, and Norce retries a Failed answer."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from tests.support.parties import PartyWorld, event_body


def test_a_disk_error_on_the_party_spool_is_a_503_failed(
    world: PartyWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def failing_disk(fd: int) -> None:  # the disk itself, not our code: EIO on a folder
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_disk)
    response = world.post("CustomerChangedNotification", event_body(10001))
    monkeypatch.undo()
    assert response.status_code == 503, response.text
    assert response.json()["StatusCode"] == "Failed"
    retried = world.post("CustomerChangedNotification", event_body(10001))
    assert retried.status_code == 200, retried.text

"""File mode: an I/O error of the batch folder's one fsync fails the delivery, so the run
does not commit calls whose files may not be on disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from etl.config.settings import NorceSettings
from etl.entities.calls import NorceCall
from etl.norce.file_delivery import FileDelivery, NorceOutbox
from tests.support.failing_disk import FailingFolderSync


def test_a_batch_folder_fsync_error_fails_the_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = NorceOutbox(tmp_path / "outbox")
    delivery = FileDelivery(tmp_path / "outbox", NorceSettings()).staged(outbox.stage("run-1"))
    call = NorceCall("Product/ImportProducts", {"AccountId": 1}, [{"PartNo": "A"}], "0001-add")
    disk = FailingFolderSync(errno.EIO, times=1_000)
    monkeypatch.setattr(os, "fsync", disk)
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        delivery.deliver([call], "products/batch-1")
    assert disk.failed

"""A batch holds no more descriptors than it has fsync threads, however many files it has.

A file's descriptor is closed as soon as it is written and an fsync thread opens it again only
to fsync it: at most one per fsync thread at a time. A version that handed the write's
descriptor to the thread held one a file on a slow disk, and hit EMFILE under a limit of 40
(found by review). The disk is slow here because os.fsync waits until every file is added.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from etl.to_erp.files.export import BATCH_FILES
from etl.to_erp.files.outbox import _FSYNC_THREADS, Batch
from tests.support.descriptors import open_under


def test_a_slow_disk_leaves_at_most_one_descriptor_per_fsync_thread_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync
    added = threading.Event()

    def slow_disk(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            added.wait(timeout=30)
        real(fd)

    monkeypatch.setattr(os, "fsync", slow_disk)
    batch = Batch()
    try:
        for index in range(BATCH_FILES):
            batch.add(tmp_path / f"ORDER_{index}.xml", b"<Order/>")
        held = len(open_under(tmp_path))
    finally:
        added.set()
    batch.place()
    assert open_under(tmp_path) == set()
    assert held <= _FSYNC_THREADS

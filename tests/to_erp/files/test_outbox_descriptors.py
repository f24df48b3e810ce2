"""The outbox batch writes each file through one descriptor, which its fsync thread closes.

What a file in the outbox must be is what etl.state.atomic.write_temp made it before: the
exact bytes, owner-only whatever the umask, never written through a file already at the
temp name; and no descriptor may outlive the batch, placed or discarded. Only the disk is
faked (os.fsync), as tests/to_erp/files/test_outbox_batch.py does.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.state.atomic import TEMP_GLOB
from etl.to_erp.files.outbox import Batch
from tests.support.descriptors import open_under


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave new files readable by everyone."""
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=200_000), min_size=1, max_size=6))
def test_each_file_holds_its_bytes_owner_only_and_no_descriptor_stays_open(
    tmp_path_factory: pytest.TempPathFactory, datas: list[bytes]
) -> None:
    root = tmp_path_factory.mktemp("outbox")
    folder = root / "erp" / "peppol_order"  # made by the batch
    batch = Batch()
    for index, data in enumerate(datas):
        batch.add(folder / f"ORDER_{index}.xml", data)
    batch.place()
    assert open_under(root) == set()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"ORDER_{i}.xml" for i in range(len(datas))
    )
    for index, data in enumerate(datas):
        path = folder / f"ORDER_{index}.xml"
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_files_are_owner_only_under_a_loose_umask(tmp_path: Path, loose_umask: None) -> None:
    batch = Batch()
    batch.add(tmp_path / "a.xml", b"<a/>")
    batch.place()
    assert stat.S_IMODE((tmp_path / "a.xml").stat().st_mode) == 0o600


def test_a_failing_fsync_closes_every_descriptor_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.fsync
    calls = 0

    def fails_second(fd: int) -> None:
        nonlocal calls
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls += 1
            if calls == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(os, "fsync", fails_second)
    batch = Batch()
    for name in ("a.xml", "b.xml", "c.xml"):
        batch.add(tmp_path / name, b"<order/>")
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        batch.place()
    assert open_under(tmp_path) == set()
    assert list(tmp_path.iterdir()) == []


def test_a_discarded_batch_closes_every_descriptor_and_leaves_no_temp(tmp_path: Path) -> None:
    batch = Batch()
    for name in ("a.xml", "b.xml"):
        batch.add(tmp_path / name, b"<order/>")
    batch.discard()
    assert open_under(tmp_path) == set()
    assert list(tmp_path.glob(TEMP_GLOB)) == []
    assert list(tmp_path.iterdir()) == []

"""File mode writes a call's files in a writer thread while the next body is encoded.

The overlap must not change what lands nor hide a failure: every call's body and request
are the bytes it encodes to, each under its own label, and a file whose fsync fails (in
the writer thread) fails the delivery, as it did when each call was written in turn.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from etl.config.settings import NorceSettings
from etl.entities.calls import NorceCall
from etl.norce.file_delivery import FileDelivery


def _calls(count: int) -> list[NorceCall]:
    return [
        NorceCall("Product/ImportPrices", {"AccountId": 1}, [{"PartNo": f"P{n}"}] * n, f"{n:04d}")
        for n in range(1, count + 1)
    ]


def test_every_call_lands_as_it_encodes(tmp_path: Path) -> None:
    calls = _calls(12)
    results = FileDelivery(tmp_path, NorceSettings()).deliver(calls, "prices/b1")
    folder = tmp_path / "norce" / "prices" / "b1"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        name for c in calls for name in (f"{c.label}.json", f"{c.label}.request.json")
    )
    for call, result in zip(calls, results, strict=True):
        assert (folder / f"{call.label}.json").read_bytes() == call.body_bytes()
        assert result.bytes == len(call.body_bytes())
        assert result.items == len(call.items)


class FailingFileSync:
    """Installed as os.fsync: the `nth` fsync of a regular file fails with EIO."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.files = 0
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            self.files += 1
            if self.files == self.nth:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        self._real(fd)


@pytest.mark.parametrize("nth", [1, 4, 23, 24])
def test_a_file_fsync_error_in_the_writer_fails_the_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    disk = FailingFileSync(nth)
    monkeypatch.setattr(os, "fsync", disk)
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        FileDelivery(tmp_path, NorceSettings()).deliver(_calls(12), "prices/b1")
    assert disk.files >= nth


def test_a_write_error_is_raised_before_an_encoding_error_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by review: the first call's write failed in the writer thread while the second
    # call's body failed to encode; the encoding error was raised and the write error lost.
    # One call at a time, the write error came first and was the one raised.
    monkeypatch.setattr(os, "fsync", FailingFileSync(1))
    unencodable = NorceCall("Product/ImportPrices", {"AccountId": 1}, [{"PartNo": {1j}}], "0002")
    with pytest.raises(OSError, match=os.strerror(errno.EIO)):
        FileDelivery(tmp_path, NorceSettings()).deliver([_calls(1)[0], unencodable], "prices/b1")

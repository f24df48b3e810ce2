"""os.fsync as a failing disk answers it, for folders: the first `times` fsyncs of a folder
fail with `code`, later ones succeed (Linux reports a write-back error once, then forgets it).
The disk is the only thing faked: our code runs as it is."""

from __future__ import annotations

import os
import stat


class FailingFolderSync:
    """Installed as os.fsync (monkeypatch): folders fail `times` times with `code`, files sync."""

    def __init__(self, code: int, times: int = 1) -> None:
        self.code = code
        self.times = times
        self.failed = 0
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and self.failed < self.times:
            self.failed += 1
            raise OSError(self.code, os.strerror(self.code))
        self._real(fd)

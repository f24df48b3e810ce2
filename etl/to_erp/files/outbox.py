"""The export's local folders: a batch of rendered files put in the outbox durably at once.

Each file is written the way etl.state.atomic writes one (a temp name in the same folder, fsync,
rename, the folder fsync'd), but the fsyncs of a batch run side by side: a journalling file
system takes concurrent fsyncs into one journal commit, so fifty files cost about what two
cost one after the other (measured on the bench VM: 0.3 to 0.8 ms a file against 4 to 8).
A `Batch` starts each file's fsync as the file is added, so the disk works while the export
writes the next file; `place` waits for them all, then renames. The threads are kept for the
process: threads of a batch's own, started and ended with it, made a batch of fifty files
18 to 31% slower to put in place (bench/README.md, "Third round"). Idle between batches, they
end at the interpreter's exit (concurrent.futures wakes and joins them then); so a process
that stops waits for its own runs, never for every thread there is (etl.scheduler).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from etl.state.atomic import TEMP_GLOB, fsync_dir, fsync_file, write_temp

_FSYNC_THREADS = 16  # enough to fill a journal commit; fsync waits on the disk, not the CPU
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class Batch:
    """Files going into the outbox together: each written and its fsync started as it comes."""

    def __init__(self) -> None:
        self.temps: dict[Path, Path] = {}
        self.syncing: list[Future[None]] = []

    def add(self, path: Path, data: bytes) -> None:
        """Write `data` under a temp name beside `path`; its fsync runs meanwhile."""
        try:
            self.temps[path] = temp = _write_temp(path, data)
        except BaseException:
            self.discard()
            raise
        self.syncing.append(_fsyncs().submit(fsync_file, temp))

    def place(self) -> None:
        """Wait for every fsync, rename each file into place, fsync the folders; all or raise."""
        try:
            for future in self.syncing:
                future.result()
            for path, temp in self.temps.items():
                temp.replace(path)
        except BaseException:
            self.discard()
            raise
        for folder in {path.parent for path in self.temps}:
            fsync_dir(folder)

    def discard(self) -> None:
        """Remove the temp files written so far (after their fsyncs, which may hold them)."""
        for future in self.syncing:
            future.exception()  # waits; a failed fsync is the caller's error already
        for temp in self.temps.values():
            temp.unlink(missing_ok=True)


def sweep(folder: Path) -> list[Path]:
    """Remove the temp files a dead run left in an outbox folder; the ones removed.

    For the one exporter of the folder's layout (it holds the layout's lock): any temp file
    there is a batch that was never put in place, so no export was begun for it.
    """
    temps = sorted(folder.glob(TEMP_GLOB)) if folder.is_dir() else []
    for temp in temps:
        temp.unlink(missing_ok=True)
    return temps


def move(source: Path, target: Path, *, durable: bool = True) -> None:
    """Rename `source` to `target`, making its folder; `durable`: fsync the target's folder.

    On a journalling file system the one fsync commits both folders' entries (one rename);
    elsewhere a lost removal from the source folder only shows the file there again, which
    the export settles by looking on the server.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)
    if durable:
        fsync_dir(target.parent)


def _write_temp(path: Path, data: bytes) -> Path:
    return write_temp(path, data, fsync=False)  # fsync'd side by side with the batch's others


def _forget_pool() -> None:
    """In a forked child the parent's threads (and a lock one held) do not exist: start anew."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _fsyncs() -> ThreadPoolExecutor:
    """The process's fsync threads, started on first use (a scheduler's jobs share them)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_FSYNC_THREADS, thread_name_prefix="outbox-fsync")
        return _pool

"""One run of a feed at a time, across threads and processes (scheduler, `once`, `approve`)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def feed_lock(folder: Path, feed: str) -> Iterator[bool]:
    """Try to take the feed's lock without waiting; yields whether it was taken."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{feed}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

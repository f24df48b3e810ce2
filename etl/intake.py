"""Fetch: which remote files are complete, and bringing them into `inbox/` safely."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.contracts import SourceSpec
from etl.transport.base import RemoteFile, Store


@dataclass(frozen=True)
class Candidate:
    """A remote file judged complete, with its done-marker if the feed uses one."""

    remote: RemoteFile
    marker: str | None = None


def ready_files(
    store: Store, source: SourceSpec, now: float, sleep: Callable[[float], None]
) -> list[Candidate]:
    """Complete files matching the feed's pattern, in name order, at most `max_files`."""
    listing = store.list(source.folder)
    names = {f.name for f in listing}
    markers = {_marker(source, f.name) for f in listing} if source.ready == "done_marker" else set()
    found = [
        f
        for f in listing
        if fnmatch.fnmatchcase(f.name, source.pattern)
        and not _is_temp(f.name, source)
        and f.name not in markers
    ]
    if source.ready == "done_marker":
        found = [f for f in found if _marker(source, f.name) in names]
    if source.min_age_seconds:
        # Only when asked for: a server clock ahead of ours must not block files forever.
        found = [f for f in found if now - f.mtime >= source.min_age_seconds]
    if source.ready == "stable" and found:
        # Two looks, `stable_seconds` apart: a file still being written changes in between.
        sleep(source.stable_seconds)
        again = {f.path: f for f in store.list(source.folder)}
        found = [f for f in found if again.get(f.path) == f]
    found.sort(key=lambda f: (f.name, f.mtime))
    return [
        Candidate(
            f,
            posixpath.join(source.folder, _marker(source, f.name))
            if source.ready == "done_marker"
            else None,
        )
        for f in found[: source.max_files]
    ]


def download(store: Store, remote: RemoteFile, folder: Path) -> tuple[Path, str]:
    """Download to a temp name, fsync, rename; returns the local path and its SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.name
    temp = folder / f".{remote.name}.part"
    store.download(remote.path, temp)
    digest = hashlib.sha256()
    with temp.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        os.fsync(handle.fileno())
    temp.replace(target)
    return target, digest.hexdigest()


def settle_remote(store: Store, source: SourceSpec, candidate: Candidate, outcome: str) -> None:
    """After commit: move the file (and its marker) to processed/ or rejected/, per contract."""
    if store.read_only or source.after_commit == "leave":
        return
    folder = source.rejected_folder if outcome == "rejected" else source.processed_folder
    for path in filter(None, (candidate.remote.path, candidate.marker)):
        if not store.exists(path):
            continue  # moved by an earlier attempt that died before the ledger caught up
        target = posixpath.join(source.folder, folder, posixpath.basename(path))
        if store.exists(target):
            stem, dot, ext = posixpath.basename(path).partition(".")
            target = posixpath.join(
                source.folder, folder, f"{stem}-{int(candidate.remote.mtime)}{dot}{ext}"
            )
        store.rename(path, target)


def _marker(source: SourceSpec, name: str) -> str:
    return source.done_marker.format(name=name, stem=name.rsplit(".", 1)[0])


def _is_temp(name: str, source: SourceSpec) -> bool:
    return name.startswith(".") or name.endswith(source.temp_suffixes)

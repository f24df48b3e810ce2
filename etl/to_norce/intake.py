"""Fetch: which remote files are complete, and bringing them into `inbox/` safely."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.config.contracts import SourceSpec
from etl.state.atomic import put_in_place, temp_path
from etl.to_norce.parsed import SharedParse
from etl.transport.base import RemoteFile, Store
from etl.transport.names import name_problem, printable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A remote file judged complete, with its done-marker if the feed uses one.

    `refused` says why the product refuses the file's name (it is set aside, never fetched).
    """

    remote: RemoteFile
    marker: str | None = None
    refused: str = ""
    # A file taken again from the archive (`run.py replay`): the run it replays. It is no
    # longer on the server, and a new file under its old name there is not this one.
    replay_of: str = ""


def ready_files(
    store: Store, source: SourceSpec, now: float, sleep: Callable[[float], None]
) -> list[Candidate]:
    """Complete files matching the feed's pattern, oldest name first, at most `max_files`.

    Files are taken in name order and the walk stops at the first one that is not complete
    yet: a later export must never overtake an earlier one, or an old full export would
    roll the data back when it finally arrives. A file whose name the product refuses
    holds nothing back: it comes with `refused` set, to be set aside.
    """
    listing = store.list(source.folder, missing_ok=False)
    names = {f.name for f in listing}
    markers = {_marker(source, f.name) for f in listing} if source.ready == "done_marker" else set()
    found = sorted(
        (
            f
            for f in listing
            if fnmatch.fnmatchcase(f.name, source.pattern)
            and not _is_temp(f.name, source)
            and f.name not in markers
        ),
        key=lambda f: (f.name, f.mtime),
    )
    again: dict[str, RemoteFile] = {}
    if source.ready == "stable" and found:
        # Two looks, `stable_seconds` apart: a file still being written changes in between.
        sleep(source.stable_seconds)
        again = {f.path: f for f in store.list(source.folder, missing_ok=False)}
    ready = []
    for f in found[: source.max_files]:
        refused = name_problem(f.name)
        if refused:
            ready.append(Candidate(f, refused=refused))
            continue
        waiting = _not_ready(source, f, names, now, again)
        if waiting:
            log.info(
                "%s: waiting for %s (%s); later files wait too",
                source.folder,
                printable(f.name),
                waiting,
            )
            break
        marker = posixpath.join(source.folder, _marker(source, f.name))
        ready.append(Candidate(f, marker if source.ready == "done_marker" else None))
    return ready


def _not_ready(
    source: SourceSpec, f: RemoteFile, names: set[str], now: float, again: dict[str, RemoteFile]
) -> str:
    """Why a file is not complete yet, or "" when it is."""
    if source.ready == "done_marker" and _marker(source, f.name) not in names:
        return f"no {_marker(source, f.name)} yet"
    # Only when asked for: a server clock ahead of ours must not block files forever.
    if source.min_age_seconds and now - f.mtime < source.min_age_seconds:
        return f"younger than {source.min_age_seconds:g} s"
    if source.ready == "stable" and again.get(f.path) != f:
        return f"still changing after {source.stable_seconds:g} s"
    return ""


@dataclass(frozen=True)
class Fetched:
    """A downloaded file: where it came from, where it is now, what it holds.

    `parses`: the file as parsed in this run, shared by every feed that reads it.
    """

    candidate: Candidate
    local: Path
    sha: str
    parses: SharedParse = field(default_factory=SharedParse, compare=False, repr=False)

    @property
    def remote(self) -> RemoteFile:
        """The file as the store listed it."""
        return self.candidate.remote

    def ledger_file(self) -> tuple[str, str, int, float]:
        """(sha256, remote path, size, mtime): how the ledger knows the file."""
        return (self.sha, self.remote.path, self.remote.size, self.remote.mtime)

    def describe(self) -> dict[str, Any]:
        """The file as a manifest records it."""
        r = self.remote
        return {
            "name": self.local.name,
            "remote_path": r.path,
            "size": r.size,
            "mtime": r.mtime,
            "sha256": self.sha,
        }


def download(store: Store, candidate: Candidate, folder: Path) -> Fetched | None:
    """Download to a temp name, hash, fsync, rename into the inbox.

    None when the file changed while it was downloaded: still being written, whatever the
    listing made of it. The copy is thrown away and the file waits for the next run, so a
    writer that paused longer than the readiness rule looks never gets half a file taken.
    """
    remote = candidate.remote
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.name
    temp = temp_path(target)
    store.download(remote.path, temp)
    try:
        after = store.stat(remote.path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if after != remote:
        temp.unlink(missing_ok=True)
        log.warning(
            "%s changed while it was downloaded (%s): still being written; it waits, and "
            "later files wait too. With ready = stable, stable_seconds is shorter than the "
            "writer's pauses",
            printable(remote.path),
            _change(remote, after),
        )
        return None
    digest = hashlib.sha256()
    with temp.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    put_in_place(temp, target)
    return Fetched(candidate, target, digest.hexdigest())


def _change(before: RemoteFile, after: RemoteFile | None) -> str:
    if after is None:
        return "gone"
    return f"size {before.size} -> {after.size}, mtime {before.mtime:.3f} -> {after.mtime:.3f}"


def settle_remote(store: Store, source: SourceSpec, candidate: Candidate, outcome: str) -> None:
    """After commit: move the file (and its marker) to processed/ or rejected/, per contract."""
    if store.read_only or source.after_commit == "leave" or candidate.replay_of:
        return
    folder = source.rejected_folder if outcome == "rejected" else source.processed_folder
    for path in filter(None, (candidate.remote.path, candidate.marker)):
        if not store.exists(path):
            continue  # moved by an earlier attempt that died before the ledger caught up
        store.rename(
            path, _free_name(store, posixpath.join(source.folder, folder), posixpath.basename(path))
        )


def _free_name(store: Store, folder: str, name: str) -> str:
    """`folder/name`, or `folder/stem-2.ext`, `-3`... when an earlier file took the name."""
    target = posixpath.join(folder, name)
    stem, dot, ext = name.partition(".")
    n = 1
    while store.exists(target):
        n += 1
        target = posixpath.join(folder, f"{stem}-{n}{dot}{ext}")
    return target


def _marker(source: SourceSpec, name: str) -> str:
    return source.done_marker.format(name=name, stem=name.rsplit(".", 1)[0])


def _is_temp(name: str, source: SourceSpec) -> bool:
    return name.startswith(".") or name.endswith(source.temp_suffixes)

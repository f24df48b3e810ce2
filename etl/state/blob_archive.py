"""The archive on object storage: runs staged on the local disk, published to a blob store.

A run fills its staged folder on this machine, as with the local archive (etl.state.archive).
`publish`, after the ledger commit, uploads each file to `<feed>/[rejected/]<day>/<run>/<name>`
and then puts one more object, the run's mark `<feed>/[rejected/]<day>/<run>.published` (the
names and sizes it holds), create-only. An object store has no rename, so the mark is what
"published" means here: `runs` lists marked runs only, and a run whose upload died half-way
is not one until `recover` publishes its staged folder again (files are put again whole; a
mark already there means a publish finished and only the local tidy-up was left). A store that
fails at `publish` leaves the folder staged for that `recover`: the run has committed.

Staging and recovery are this machine's: a run whose publish failed, or whose worker died
between its commit and its publish, stays on that machine's disk until it publishes it (every
job a worker starts, and every alerts tick, does: etl.alert_jobs.publish_staged). `published`
tells which committed runs the store has, so `status` can name those it has not yet.

Run folders keep the local archive's paths (`<root>/<feed>/<day>/<run>`) as their names, so
the ledger records the same `archive/...` whichever backend a home uses; `read_manifest`
turns such a path back into a key. The seam is etl.state.base.Archive.

The tools reach published runs here too: `files` lists a run's objects (the listing, not the
mark, so an object a cut-short purge left is still found), `opened` fetches one into a private
temp folder under the root, `replace` and `rewrite_manifest` put an object whole in place of
the old one (an erasure, a purge's record), `remove` rewrites the mark to name what stays and
then deletes the rest: a listed run's mark never names an object that is gone, and what a
purge that died left is deleted by the next one (its manifest already says what went).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from etl.state import staged as staging
from etl.state.archive import REJECTED, LocalArchive
from etl.state.atomic import TEMP_GLOB
from etl.state.base import Archive
from etl.state.blobs import (
    BlobExists,
    BlobNotFound,
    Blobs,
    KeyRefused,
    StorageError,
    StorageOptions,
    open_blobs,
)
from etl.state.blobs.base import check_key, join, objects_below
from etl.state.ledger.base import FeedLedger
from etl.state.manifest import MANIFEST, Manifest, ManifestError

log = logging.getLogger(__name__)

AREA = "archive"  # keys go under "<[storage] prefix>/archive/"
MARK = ".published"  # `<run>.published` beside the run's objects: the run is whole


class BlobArchive:
    """Run folders staged locally and published to a blob store."""

    def __init__(self, root: Path, blobs: Blobs) -> None:
        self.root = root
        self.blobs = blobs
        self._staging = LocalArchive(root)  # staging is the local archive's, to the letter

    def stage(self, feed: str, day: str, run_id: str, *, rejected: bool = False) -> Path:
        """A fresh local temp folder for a run; published with `publish` after commit."""
        return self._staging.stage(feed, day, run_id, rejected=rejected)

    def final(self, staged: Path) -> Path:
        """The run folder's name once published (a path under the root, its key's twin)."""
        return self._staging.final(staged)

    def keep_input(self, source: Path, staged: Path) -> Path:
        """Put the original file into the staged folder (uploaded on publish).

        Its key is checked now, before the commit: a name no store keeps (KeyRefused) fails
        the run here rather than its publish after the commit.
        """
        check_key(join(self._key(self.final(staged)), source.name))
        return self._staging.keep_input(source, staged)

    def write_manifest(self, staged: Path, manifest: Manifest) -> None:
        """Write the run's manifest.json into the staged folder (uploaded on publish)."""
        self._staging.write_manifest(staged, manifest)

    def publish(self, staged: Path) -> Path:
        """Upload the staged files, then the run's mark; the staged folder goes after.

        The run has committed: a store that fails now must not fail it (it would be reported
        as failed with nothing committed). The folder stays staged, with a WARNING, and the
        feed's next run uploads it (`recover`); a name the store refuses (KeyRefused, a
        StorageError) is one such failure: it stays staged, warned about, never a crash.
        """
        final = self.final(staged)
        try:
            self._upload(staged, self._key(final))
        except StorageError as exc:
            log.warning(
                "run %s committed; its archive folder is uploaded later: %s", final.name, exc
            )
            return final
        shutil.rmtree(staged)
        self._prune(staged.parent)
        return final

    def recover(self, feed: str, ledger: FeedLedger) -> list[Path]:
        """Publish the feed's staged folders of committed runs; drop those that never committed.

        Called under the feed's lock, so no run of this feed is staging right now. A folder
        the store would not take yet stays for the next time, and is not in the list.
        """
        top = self.root / feed
        folders = [*top.glob(f"*/{TEMP_GLOB}"), *top.glob(f"{REJECTED}/*/{TEMP_GLOB}")]
        settled = staging.settle(folders, ledger, self.publish)
        return [self.final(s) for s in settled if not s.exists()]

    def runs(self, feed: str, *, rejected: bool = False) -> list[Path]:
        """Marked runs, oldest first: by day, then run id (which starts with the run's time)."""
        top = join(feed, REJECTED if rejected else "")
        days = [d for d in self.blobs.list(top).folders if d != REJECTED]
        return sorted(
            self.root.joinpath(*top.split("/"), day, blob.name.removesuffix(MARK))
            for day in days
            for blob in self.blobs.list(join(top, day)).blobs
            if blob.name.endswith(MARK)
        )

    def published(self, runs: Iterable[Path]) -> set[Path]:
        """Those of `runs` (run folders' paths) whose mark is in the store: one listing per
        day folder, not a request per run."""
        by_day: dict[Path, list[Path]] = {}
        for run in runs:
            by_day.setdefault(run.parent, []).append(run)
        found: set[Path] = set()
        for day, members in by_day.items():
            marks = {b.name for b in self.blobs.list(self._key(day)).blobs}
            found |= {run for run in members if run.name + MARK in marks}
        return found

    def read_manifest(self, run: Path) -> Manifest:
        """The run's manifest.json, read from the store."""
        try:
            data = self.blobs.read(join(self._key(run), MANIFEST))
        except BlobNotFound as exc:
            raise ManifestError(run / MANIFEST, "not in the archive's store") from exc
        try:
            return Manifest.model_validate_json(data)
        except ValidationError as exc:
            raise ManifestError(run / MANIFEST, f"unreadable ({exc.errors()[0]['msg']})") from exc

    def feeds(self) -> list[str]:
        """The top-level prefixes of the archive's store, in name order."""
        return self.blobs.list("").folders

    def files(self, run: Path) -> dict[str, int]:
        """Every object under the run's key, by name ("/" form) with its size, in name order."""
        return dict(sorted(objects_below(self.blobs, self._key(run), "").items()))

    @contextlib.contextmanager
    def opened(self, run: Path, name: str) -> Iterator[Path | None]:
        """The object fetched in pieces into a private temp folder under the root (never
        whole in memory), removed afterwards."""
        try:
            key = check_key(join(self._key(run), name))
        except KeyRefused:
            key = None  # a name no store holds (`../x`) is not the run's either
        if key is None:
            yield None
            return
        self.root.mkdir(parents=True, exist_ok=True)
        # Dot-named: no walker of the archive takes it for a feed or a run; mkdtemp: 0700.
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".read-") as folder:
            local = Path(folder) / PurePosixPath(name).name
            try:
                self.blobs.get_file(key, local)
            except BlobNotFound:
                yield None
                return
            yield local

    def replace(self, run: Path, name: str, source: Path) -> None:
        """Put `source` over the run's object (one whole PUT), then the mark's sizes again."""
        key = self._key(run)
        if self.blobs.stat(join(key, name)) is None:
            raise BlobNotFound(f"{key}: no object {name!r} in the run")
        self.blobs.put_file(join(key, name), source)
        self._put_mark(key, self.files(run))

    def rewrite_manifest(self, run: Path, manifest: Manifest) -> None:
        """Put the run's manifest.json again, as the local archive writes it."""
        text = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False)
        self.blobs.put(join(self._key(run), MANIFEST), text.encode("utf-8"))

    def remove(self, run: Path, names: list[str]) -> None:
        """The mark first names only what stays, then the objects go (never the manifest)."""
        key = self._key(run)
        gone = sorted({n for n in names if n != MANIFEST})
        self._put_mark(key, {n: s for n, s in self.files(run).items() if n not in gone})
        for name in gone:
            self.blobs.delete(join(key, name))

    def _put_mark(self, key: str, names: dict[str, int]) -> None:
        """Put the run's mark over the one there: what the run holds now."""
        self.blobs.put(key + MARK, _mark_text(names))

    def _key(self, run: Path) -> str:
        """A run folder's key: its path under the root, in "/" form."""
        try:
            return run.relative_to(self.root).as_posix()
        except ValueError as exc:
            raise ValueError(f"{run} is not a run folder of the archive at {self.root}") from exc

    def _upload(self, staged: Path, key: str) -> None:
        """Each staged file under the run's key, then the mark; a mark there: done before."""
        if self.blobs.stat(key + MARK) is not None:
            return
        files = sorted(p for p in staged.rglob("*") if p.is_file())
        names = {p.relative_to(staged).as_posix(): p.stat().st_size for p in files}
        for path, name in zip(files, names, strict=True):
            self.blobs.put_file(join(key, name), path)
        self._mark(key, names)

    def _prune(self, folder: Path) -> None:
        """Remove the local day (and feed) folders a publish left empty; the root stays.

        A run of another feed staging meanwhile never stages here; one of this feed cannot
        (the feed's lock), and an rmdir never takes a folder that is not empty.
        """
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _mark(self, key: str, names: dict[str, int]) -> None:
        """Put the run's mark, once: a mark already there was put by a publish that finished."""
        with contextlib.suppress(BlobExists):
            self.blobs.put(key + MARK, _mark_text(names), create_only=True)


def _mark_text(names: dict[str, int]) -> bytes:
    """A run's mark: the names and sizes of what it holds."""
    return json.dumps({"files": names}, indent=2, ensure_ascii=False).encode()


def open_archive(settings: StorageOptions, root: Path) -> Archive:
    """The archive the settings ask for: folders under `root`, or staged there and sent to S3."""
    if settings.backend == "s3":
        return BlobArchive(root, open_blobs(settings, AREA, root))
    return LocalArchive(root)

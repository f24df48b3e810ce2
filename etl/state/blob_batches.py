"""Folders published to a blob store as batches: the files, then one create-only mark.

An object store has no rename, so a batch cannot appear at once as a folder moved into
place does. Its files are put first under `<batch>/<name>`, then its mark `<batch>.published`
(the run that published it, and each file's size), create-only: a batch is published when
its mark is there, and a reader looks only at marked batches (`published`). A publish that
died half-way left files and no mark; the next try puts them again, whole, then the mark.

A batch of the same name published again by another run (the same input taken again, as a
replay does) replaces the earlier one, as a folder moved over it would: its mark goes first
(the batch is unpublished while it changes), then its files this run does not have, and
this run's files and mark follow. The same run publishing again finds its own mark: done.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from etl.state.blobs import BlobExists, BlobNotFound, Blobs, StorageError
from etl.state.blobs.base import join

MARK = ".published"  # `<batch>.published` beside the batch's objects: the batch is whole


class BlobBatches:
    """Batches of files under keys of a blob store, each published by one mark."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def publish(self, folder: Path, batch: str, run_id: str) -> bool:
        """Put the folder's files under `batch`, then its mark; False when `run_id` did already."""
        earlier = self.mark(batch)
        if earlier is not None and earlier.get("run") == run_id:
            return False
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        names = {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}
        if earlier is not None:
            self._unpublish(batch, earlier, keep=set(names))
        for path, name in zip(files, names, strict=True):
            self.blobs.put_file(join(batch, name), path)
        mark = json.dumps({"run": run_id, "files": names}, indent=2, ensure_ascii=False)
        try:
            self.blobs.put(batch + MARK, mark.encode(), create_only=True)
        except BlobExists:
            if (self.mark(batch) or {}).get("run") != run_id:
                raise StorageError(
                    f"{batch}: published by another run while this one published it"
                ) from None
        return True

    def mark(self, batch: str) -> dict[str, Any] | None:
        """The batch's mark (run, files), None when it is not published."""
        try:
            found: dict[str, Any] = json.loads(self.blobs.read(batch + MARK))
        except BlobNotFound:
            return None
        return found

    def published(self, prefix: str) -> list[str]:
        """The marked batches directly under `prefix`, by name."""
        listed = self.blobs.list(prefix).blobs
        return [join(prefix, b.name.removesuffix(MARK)) for b in listed if b.name.endswith(MARK)]

    def files(self, batch: str) -> dict[str, bytes]:
        """A published batch's files by name, as its mark lists them."""
        mark = self.mark(batch)
        if mark is None:
            raise BlobNotFound(f"{batch}: not a published batch")
        return {name: self.blobs.read(join(batch, name)) for name in mark["files"]}

    def _unpublish(self, batch: str, earlier: dict[str, Any], keep: set[str]) -> None:
        """Take the earlier run's mark away, then its files this publish does not put again."""
        self.blobs.delete(batch + MARK)
        listed = {b.name for b in self.blobs.list(batch).blobs}
        for name in sorted((set(earlier.get("files", {})) | listed) - keep):
            self.blobs.delete(join(batch, name))

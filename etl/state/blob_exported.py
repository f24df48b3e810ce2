"""The files the ERP got, archived in object storage (`[storage] backend = "s3"`).

Keys are the home-relative path of the file on a one-VM disk,
`<prefix>/archive/<area>/exported/<layout>/<day>/<name>`, so `run.py migrate-state` copies a
VM's archive over by its relative paths and every machine's purge and `forget` find what any
machine archived. An object is put create-only: a file already archived (by a run that died
before it let go of the bucket's outbox copy) is archived once, not twice. Nothing is fsync'd:
an object is whole and durable once its PUT is answered.

The tools reach the objects through `layouts`, `days`, `files`, `fetch`, `replace`, `delete`
and the day folder's manifest (`read_manifest`, `write_manifest`), as they walk the disk's
folders: a day folder past its retention keeps only its manifest, as on the disk.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from etl.state.areas import Areas, FileArea
from etl.state.blobs import BlobExists, BlobNotFound, Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join, objects_below
from etl.state.manifest import MANIFEST, Manifest, ManifestError


class BlobExported:
    """One area's exported files (`archive/<area>/exported/`) as objects of a blob store."""

    def __init__(self, blobs: Blobs, root: Path) -> None:
        self.blobs = blobs
        self.root = root  # archive/<area>/exported/ under the home: the objects' local twin

    def __repr__(self) -> str:
        return f"BlobExported({self.blobs!r})"

    def keep(self, layout: str, day: str, files: Mapping[str, Path | bytes]) -> list[str]:
        """Put each committed file under `<layout>/<day>/<name>`, create-only; the names kept.

        A key already taken holds this file (the names are the ledger's, one per export): a
        retry of an archive that landed. StorageError when the store fails: nothing is lost,
        the caller keeps its copies for the next run.
        """
        for name, source in files.items():
            key = join(layout, day, name)
            with contextlib.suppress(BlobExists):
                if isinstance(source, Path):
                    self.blobs.put_file(key, source, create_only=True)
                else:
                    self.blobs.put(key, source, create_only=True)
        return list(files)

    def layouts(self) -> list[str]:
        """The layouts that have archived files, in name order."""
        return self.blobs.list("").folders

    def days(self, layout: str) -> list[str]:
        """The layout's day folders (and whatever else lies there), in name order."""
        return self.blobs.list(layout).folders

    def files(self, layout: str, day: str) -> dict[str, int]:
        """Every object below the day folder but its manifest: "/" name -> size."""
        found = objects_below(self.blobs, join(layout, day), "")
        found.pop(MANIFEST, None)
        return dict(sorted(found.items()))

    def twin(self, layout: str, day: str, name: str = "") -> Path:
        """Where the object would lie on a one-VM disk: how logs and records name it."""
        return (
            self.root.joinpath(layout, day, *name.split("/")) if name else self.root / layout / day
        )

    def read(self, layout: str, day: str, name: str) -> bytes | None:
        """The object's bytes; None when it is gone."""
        try:
            return self.blobs.read(join(layout, day, name))
        except BlobNotFound:
            return None

    def fetch(self, layout: str, day: str, name: str, target: Path) -> bool:
        """Copy the object into the local file `target`; False when it is gone."""
        try:
            self.blobs.get_file(join(layout, day, name), target)
        except BlobNotFound:
            return False
        return True

    def replace(self, layout: str, day: str, name: str, source: Path) -> None:
        """Put `source` over the object, whole (an erasure's masking)."""
        self.blobs.put_file(join(layout, day, name), source)

    def delete(self, layout: str, day: str, name: str) -> None:
        """Remove the object (absent: nothing to do)."""
        self.blobs.delete(join(layout, day, name))

    def read_manifest(self, layout: str, day: str) -> Manifest | None:
        """The day folder's manifest.json; None when it has none."""
        try:
            data = self.blobs.read(join(layout, day, MANIFEST))
        except BlobNotFound:
            return None
        try:
            return Manifest.model_validate_json(data)
        except ValidationError as exc:
            where = self.twin(layout, day, MANIFEST)
            raise ManifestError(where, f"unreadable ({exc.errors()[0]['msg']})") from exc

    def write_manifest(self, layout: str, day: str, manifest: Manifest) -> None:
        """Put the day folder's manifest.json, as the disk's is written."""
        text = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False)
        self.blobs.put(join(layout, day, MANIFEST), text.encode("utf-8"))


def open_blob_exported(storage: StorageOptions, areas: Areas, area: FileArea) -> BlobExported:
    """The area's exported files in the bucket `[storage]` names."""
    root = areas.exported_layouts(area)
    relative = root.relative_to(areas.home).as_posix()
    return BlobExported(open_blobs(storage, relative, root), root)

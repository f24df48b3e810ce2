"""The object-storage seam (base.py) and its implementations: a local folder, an S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from etl.state.blobs.base import (
    Blob,
    BlobExists,
    BlobNotFound,
    Blobs,
    KeyRefused,
    Listing,
    StorageError,
)
from etl.state.blobs.local import LocalBlobs
from etl.state.blobs.s3 import S3Blobs, S3Options

__all__ = [
    "Blob",
    "BlobExists",
    "BlobNotFound",
    "Blobs",
    "KeyRefused",
    "Listing",
    "LocalBlobs",
    "S3Blobs",
    "S3Options",
    "StorageError",
    "StorageOptions",
    "open_blobs",
]


class StorageOptions(S3Options, Protocol):
    """`[storage]` as state reads it: which backend, and the bucket when it is S3."""

    @property
    def backend(self) -> str: ...


def open_blobs(settings: StorageOptions, area: str, local_root: Path) -> Blobs:
    """The store of one area ("archive"...): `local_root` on disk, or `<prefix>/<area>/` in S3."""
    if settings.backend == "s3":
        return S3Blobs(settings, area)
    return LocalBlobs(local_root)

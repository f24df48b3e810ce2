"""Objects in an S3-compatible bucket, through obstore (the Rust `object_store` crate).

What "stored" means here: the PUT was answered 200, and S3 makes a whole object visible at
once, so a reader never sees half of one. A create-only put sends `If-None-Match: *`; the
store answers 412 when the key is taken and that becomes `BlobExists`. A put of a file larger
than 5 MiB goes up as a multipart upload, completed in one request (still all at once), unless
it is create-only: a conditional put is one request, so that file is read into memory.

obstore's exceptions are translated here and nowhere else (`_translated`); their messages
name the URL and the status, never the credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import S3Store
from pydantic import SecretStr

from etl.state.atomic import atomic_file
from etl.state.blobs.base import (
    Blob,
    BlobExists,
    BlobNotFound,
    Listing,
    StorageError,
    check_key,
    check_prefix,
    is_listable,
    join,
)

if TYPE_CHECKING:
    from obstore import ObjectMeta

_MESSAGE_CHARS = 300  # obstore's messages carry a debug dump; the first line says it all


class S3Options(Protocol):
    """Where the bucket is and how to sign in: what `[storage]` gives (etl.config.storage_settings).

    A Protocol, not the settings model, so that state does not import config (config already
    reads state's names of areas).
    """

    @property
    def bucket(self) -> str | None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def endpoint_url(self) -> str | None: ...
    @property
    def region(self) -> str: ...
    @property
    def access_key_id(self) -> SecretStr | None: ...
    @property
    def secret_access_key(self) -> SecretStr | None: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def retry_seconds(self) -> float: ...


class S3Blobs:
    """A blob store on a prefix of an S3-compatible bucket."""

    def __init__(self, settings: S3Options, area: str) -> None:
        if settings.bucket is None:
            raise ValueError('S3Blobs needs [storage] backend = "s3" settings with a bucket')
        self.bucket = settings.bucket
        self.prefix = join(settings.prefix, area)
        self._store = _open(settings, self.bucket, self.prefix)

    def __repr__(self) -> str:
        return f"S3Blobs(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        """One PUT of `data`; create-only with `If-None-Match: *`."""
        with self._translated("put", key):
            self._store.put(check_key(key), data, mode="create" if create_only else "overwrite")

    def put_file(self, key: str, source: Path, *, create_only: bool = False) -> None:
        """The file, in parts when large (never whole in memory) unless create-only."""
        with self._translated("put", key):
            self._store.put(check_key(key), source, mode="create" if create_only else "overwrite")

    def read(self, key: str) -> bytes:
        """One GET of the whole object."""
        with self._translated("read", key, missing=BlobNotFound):
            return bytes(self._store.get(check_key(key)).bytes())

    def get_file(self, key: str, target: Path) -> int:
        """One GET, streamed in pieces into a temp file beside `target`, then renamed."""
        with self._translated("read", key, missing=BlobNotFound):
            found = self._store.get(check_key(key))
            with atomic_file(target) as handle:
                for piece in found.stream():
                    handle.write(piece)
        return target.stat().st_size

    def stat(self, key: str) -> Blob | None:
        """One HEAD; None on 404."""
        try:
            with self._translated("stat", key, missing=BlobNotFound):
                meta = self._store.head(check_key(key))
        except BlobNotFound:
            return None
        return Blob(key, meta["size"], meta.get("e_tag") or "", meta.get("last_modified"))

    def list(self, prefix: str) -> Listing:
        """One delimited listing (every page of it) of the prefix."""
        with self._translated("list", prefix or "(top)"):
            found = self._store.list_with_delimiter(check_prefix(prefix) or None)
        blobs = [_blob(meta) for meta in found["objects"]]
        folders = [p.rsplit("/", 1)[-1] for p in found["common_prefixes"]]
        # What another tool left under a name no key may have is not listed, as on a disk.
        return Listing(
            sorted((b for b in blobs if is_listable(b.name)), key=lambda b: b.key),
            sorted(f for f in folders if is_listable(f)),
        )

    def delete(self, key: str) -> None:
        """One DELETE; S3 answers the same whether the object was there or not."""
        with self._translated("delete", key):
            self._store.delete(check_key(key))

    @contextlib.contextmanager
    def _translated(
        self, action: str, key: str, *, missing: type[StorageError] = StorageError
    ) -> Iterator[None]:
        """The one place obstore's exceptions become ours; `missing` is what a 404 means."""
        where = f"s3://{self.bucket}/{join(self.prefix, key)}"
        try:
            yield
        except (AlreadyExistsError, PreconditionError) as exc:
            raise BlobExists(f"{where}: already stored") from exc
        except FileNotFoundError as exc:
            # A missing bucket answers 404 too: that is no missing object, but a setting to fix.
            kind = StorageError if "NoSuchBucket" in str(exc) else missing
            raise kind(f"{where}: {action}: {_first_line(exc)}") from exc
        except (BaseError, OSError) as exc:
            raise StorageError(f"{where}: {action}: {_first_line(exc)}") from exc


def _open(settings: S3Options, bucket: str, prefix: str) -> S3Store:
    """The obstore client for `bucket`, under `prefix`, with the settings' credentials."""
    key_id, secret = settings.access_key_id, settings.secret_access_key
    endpoint = settings.endpoint_url
    return S3Store(
        bucket,
        prefix=prefix or None,
        config={
            "region": settings.region,
            # Path-style requests (the library's default): what MinIO, Ceph and moto expect.
            "virtual_hosted_style_request": False,
            **({"endpoint": endpoint} if endpoint else {}),
            **({"access_key_id": key_id.get_secret_value()} if key_id else {}),
            **({"secret_access_key": secret.get_secret_value()} if secret else {}),
        },
        client_options={
            "allow_http": bool(endpoint and endpoint.startswith("http://")),
            "timeout": dt.timedelta(seconds=settings.timeout_seconds),
        },
        retry_config={
            "max_retries": 10 if settings.retry_seconds else 0,
            "retry_timeout": dt.timedelta(seconds=settings.retry_seconds),
        },
    )


def _blob(meta: ObjectMeta) -> Blob:
    return Blob(meta["path"], meta["size"], modified=meta.get("last_modified"))


def _first_line(exc: BaseException) -> str:
    """The library's message without its debug dump, bounded, on one line."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:_MESSAGE_CHARS]

"""File-mode calls written in place (documents, buyer numbers) put in the bucket instead.

With `[storage] backend = "s3"` every machine's file-mode output is read from the bucket
(`<prefix>/outbox/norce/<feed>/...`), so a document one worker sends must not land on that
worker's own disk. A master-data run's calls are staged and published as batches
(etl.norce.file_delivery.BlobNorceOutbox); a document's calls are not staged: each is put
when it is sent, the body create-only, since its name is the document's and the ledger's
document record sends a document once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from etl.state.blobs import BlobExists, Blobs, StorageOptions, open_blobs
from etl.state.blobs.base import join

AREA = "outbox/norce"  # keys go under "<[storage] prefix>/outbox/norce/", as the batches'


@dataclass(frozen=True)
class BucketCalls:
    """Unstaged file-mode calls under `<prefix>/outbox/norce/` of the bucket."""

    blobs: Blobs
    root: str  # "s3://<bucket>/<prefix>/outbox/norce": where a call is, for the ledger

    def put(self, batch: str, stem: str, body: bytes, request: bytes) -> str:
        """The request, then the body create-only; returns where the body is.

        A body already there was put by a run that died before the ledger recorded the
        document as sent (it was in doubt): the same document, so it counts as sent now.
        """
        self.blobs.put(join(batch, f"{stem}.request.json"), request)
        body_key = join(batch, f"{stem}.json")
        with contextlib.suppress(BlobExists):
            self.blobs.put(body_key, body, create_only=True)
        return f"{self.root}/{body_key}"


def open_bucket_calls(settings: StorageOptions, outbox: Path) -> BucketCalls | None:
    """The bucket's calls area when `[storage]` is S3; None when calls stay in `outbox/norce/`."""
    if settings.backend != "s3":
        return None
    root = "/".join(p for p in (f"s3://{settings.bucket}", settings.prefix, AREA) if p)
    return BucketCalls(open_blobs(settings, AREA, outbox / "norce"), root)

"""Snapshots in object storage while the store is down: what fails, and what only warns.

Before the commit (the upload, the read before the diff) a store that is down fails the
run: the ledger must never point at a snapshot other machines cannot get, and a run must
never diff against nothing. After the commit (the sweep of old snapshots) it only warns.
The store is moto's real S3 API; "down" is a port nobody listens on.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from etl.state.blob_snapshots import BlobSnapshotStore
from etl.state.blobs import S3Blobs, StorageError
from tests.support.frames import PRODUCT, product, snapshot
from tests.support.s3 import S3Bucket

ROWS = snapshot(PRODUCT, [product("P1", "Glove"), product("P2", "Boot")])


def _stores(bucket: S3Bucket, tmp_path: Path) -> tuple[BlobSnapshotStore, BlobSnapshotStore]:
    """The same machine's snapshots with the store up, and with it down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = bucket.settings()
    root, at = tmp_path / "state" / "snapshots", tmp_path / "ledger.sqlite"
    up = BlobSnapshotStore(root, S3Blobs(settings, "state/snapshots"), at)
    gone = settings.model_copy(update={"endpoint_url": down})
    return up, BlobSnapshotStore(root, S3Blobs(gone, "state/snapshots"), at)


def test_a_candidate_the_store_cannot_take_fails_before_the_commit(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    _, down = _stores(s3_bucket, tmp_path)

    with pytest.raises(StorageError):
        down.write("products", "run-1", ROWS)


def test_a_snapshot_the_store_cannot_give_is_not_read_as_empty(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    up, down = _stores(s3_bucket, tmp_path)
    relative = up.write("products", "run-1", ROWS)

    with pytest.raises(StorageError):
        down.scan(relative, PRODUCT.fields())


def test_a_sweep_after_the_commit_only_warns_when_the_store_is_down(
    s3_bucket: S3Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    up, down = _stores(s3_bucket, tmp_path)
    old = up.write("products", "run-1", ROWS)
    new = up.write("products", "run-2", ROWS.head(1))

    with caplog.at_level(logging.WARNING, logger="etl.state.blob_snapshots"):
        gone = down.sweep("products", {new})

    assert gone == [old]  # this machine's copy went; the object waits for the next sweep
    assert "stay in object storage until the next commit" in caplog.text
    assert up.blobs.stat(old) is not None
    assert up.sweep("products", {new}) == [old]
    assert up.blobs.stat(old) is None

"""A machine's cached snapshot is checked against the object's ETag, not only its size."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.state.blob_snapshots import AREA, BlobSnapshotStore
from etl.state.blobs import open_blobs
from tests.support.s3 import S3Bucket


def _machine(root: Path, bucket: S3Bucket) -> BlobSnapshotStore:
    """One machine's snapshot store: its own cache folder, the shared bucket."""
    settings = bucket.settings("shop1")
    return BlobSnapshotStore(root, open_blobs(settings, AREA, root), root / "unused-ledger")


def test_a_snapshot_rewritten_elsewhere_with_the_same_size_is_fetched_again(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    a, b = _machine(tmp_path / "a", s3_bucket), _machine(tmp_path / "b", s3_bucket)
    before = pl.DataFrame({"code": ["K-1"], "last_name": ["Karlsson"]})
    relative = a.write("customers", "r1", before)  # machine A's run, cached on A
    assert b.path(relative).read_bytes() == a.path(relative).read_bytes()

    after = pl.DataFrame({"code": ["K-1"], "last_name": ["[erased]"]})  # same length
    b.replace(relative, after)  # forget or purge on machine B
    cached_on_a = tmp_path / "a" / relative
    assert (tmp_path / "b" / relative).stat().st_size == cached_on_a.stat().st_size

    assert pl.read_parquet(a.path(relative))["last_name"].to_list() == ["[erased]"]


def test_an_unchanged_object_is_not_fetched_again(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    a = _machine(tmp_path / "a", s3_bucket)
    relative = a.write("customers", "r1", pl.DataFrame({"code": ["K-1"]}))
    copy = a.path(relative)
    copy.write_bytes(copy.read_bytes())  # a marker the store does not know: same bytes
    seen = copy.stat().st_mtime_ns

    assert a.path(relative).stat().st_mtime_ns == seen  # the tag matched: no GET


def test_a_copy_without_its_tag_is_fetched_again(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    a = _machine(tmp_path / "a", s3_bucket)
    relative = a.write("customers", "r1", pl.DataFrame({"code": ["K-1"]}))
    stale = pl.DataFrame({"code": ["K-9"]})
    stale.write_parquet(tmp_path / "a" / relative)  # same size, other content, no tag
    (tmp_path / "a" / "customers" / ".r1.parquet.etag").unlink()

    assert pl.read_parquet(a.path(relative))["code"].to_list() == ["K-1"]

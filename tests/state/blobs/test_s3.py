"""What only the S3 store does: where its keys land in the bucket, and how it fails."""

from __future__ import annotations

import socket
import time

import pytest

from etl.state.blobs import BlobNotFound, S3Blobs, StorageError
from tests.support.s3 import KEY_ID, SECRET, S3Bucket


def test_keys_land_under_the_prefix_and_the_area(s3_bucket: S3Bucket) -> None:
    S3Blobs(s3_bucket.settings(prefix="shop-a/eu"), "archive").put("products/r1/p.csv", b"1")
    S3Blobs(s3_bucket.settings(), "snapshots").put("products/current", b"2")

    assert s3_bucket.objects() == {
        "shop-a/eu/archive/products/r1/p.csv": b"1",
        "snapshots/products/current": b"2",
    }


def test_areas_do_not_see_each_other(s3_bucket: S3Bucket) -> None:
    archive = S3Blobs(s3_bucket.settings(), "archive")
    S3Blobs(s3_bucket.settings(), "spool").put("orders/o-1.xml", b"<o/>")

    assert archive.stat("orders/o-1.xml") is None
    assert archive.list("").folders == []


def test_a_missing_bucket_is_a_setting_to_fix_not_a_missing_object(s3_bucket: S3Bucket) -> None:
    settings = s3_bucket.settings().model_copy(update={"bucket": "no-such-bucket"})
    blobs = S3Blobs(settings, "archive")

    for call in (lambda: blobs.read("k"), lambda: blobs.put("k", b"1"), lambda: blobs.list("")):
        with pytest.raises(StorageError, match="s3://no-such-bucket/archive") as caught:
            call()
        assert not isinstance(caught.value, BlobNotFound)


def test_an_unreachable_store_fails_at_once_and_says_where(s3_bucket: S3Bucket) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = s3_bucket.settings().model_copy(update={"endpoint_url": f"http://127.0.0.1:{port}"})
    blobs = S3Blobs(settings, "archive")

    started = time.monotonic()
    with pytest.raises(StorageError, match=f"s3://{s3_bucket.name}/archive/k: read") as caught:
        blobs.read("k")

    assert time.monotonic() - started < 5  # retry_seconds = 0: no retries
    assert "\n" not in str(caught.value)  # the library's debug dump is left out


def test_credentials_are_never_shown(s3_bucket: S3Bucket) -> None:
    settings = s3_bucket.settings().model_copy(update={"bucket": "no-such-bucket"})
    blobs = S3Blobs(settings, "archive")
    with pytest.raises(StorageError) as caught:
        blobs.read("k")

    for shown in (repr(blobs), repr(settings), str(settings), str(caught.value)):
        assert KEY_ID not in shown and SECRET not in shown, shown


def test_what_another_tool_left_under_a_hidden_name_is_not_listed(s3_bucket: S3Bucket) -> None:
    blobs = S3Blobs(s3_bucket.settings(), "archive")
    blobs.put("f/kept", b"1")
    s3_bucket.put("archive/f/.upload-in-progress", b"half")

    assert [b.key for b in blobs.list("f").blobs] == ["f/kept"]

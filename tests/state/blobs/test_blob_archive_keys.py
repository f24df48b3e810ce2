"""Names object storage refuses: found while staging (before the commit), never after it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from etl.state.blob_archive import BlobArchive, open_archive
from etl.state.blobs import StorageError
from etl.state.ledger.feed_runs import Ledger
from tests.support.s3 import S3Bucket, committed_and_staged

REFUSED = "price\\list.csv"  # a backslash: a name a Linux SFTP server gives, no store keeps


def _archive(s3_bucket: S3Bucket, tmp_path: Path) -> BlobArchive:
    archive = open_archive(s3_bucket.settings(), tmp_path / "archive")
    assert isinstance(archive, BlobArchive)
    return archive


def test_an_input_whose_name_no_store_keeps_is_refused_when_staged(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    archive = _archive(s3_bucket, tmp_path)
    source = tmp_path / REFUSED
    source.write_bytes(b"Artikelnr;Pris\r\n")
    staged = archive.stage("prices", "2026-12-07", "r1")

    with pytest.raises(StorageError, match="backslash"):
        archive.keep_input(source, staged)


def test_a_refused_name_found_after_the_commit_leaves_the_run_staged_with_a_warning(
    s3_bucket: S3Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = _archive(s3_bucket, tmp_path)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    staged = committed_and_staged(archive, ledger)
    (staged / REFUSED).write_bytes(b"x")

    with caplog.at_level(logging.WARNING):
        assert archive.publish(staged) == archive.final(staged)

    assert staged.exists()
    assert "uploaded later" in caplog.text and "backslash" in caplog.text
    assert archive.recover("products", ledger) == []  # still refused: stays, no failure
    ledger.close()

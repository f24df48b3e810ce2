"""Fixtures of the state tests: a real S3 API on loopback (moto), a fresh bucket per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.s3 import S3Bucket, fresh_bucket, run_s3_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One S3 server for the session (started only when a test asks for it)."""
    with run_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[S3Bucket]:
    """A new, empty bucket for one test."""
    with fresh_bucket(s3_endpoint) as bucket:
        yield bucket

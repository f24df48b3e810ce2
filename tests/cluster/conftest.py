"""The cluster's PostgreSQL (a database of its own: ledger and queue) and where its state lives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cluster import LOCAL, Storage, s3_storage
from tests.support.postgres import fresh_database
from tests.support.s3 import KEY_ID, SECRET, fresh_bucket

STORAGES = ["local", "s3"]


@pytest.fixture
def cluster_dsn(postgres_uri: str) -> Iterator[str]:
    """A new database: no other test's sessions or rows in it."""
    with fresh_database(postgres_uri) as at:
        yield at.dsn


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    """Each place the home's state can live in turn: its folders, or a fresh bucket."""
    if request.param == "local":
        yield LOCAL
        return
    with fresh_bucket(request.getfixturevalue("s3_endpoint")) as bucket:
        yield s3_storage(bucket.endpoint, bucket.name, KEY_ID, SECRET)

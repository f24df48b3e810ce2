"""The fixtures of the tests that span machines: the session's PostgreSQL and a real S3 API.

Registered for every test by tests/conftest.py (`pytest_plugins`), so each folder that needs
a shared ledger, a bucket or a gate in front of it asks for it by name instead of declaring the same fixtures again.
The servers start only when a test asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from etl.state.ledger.postgres import PostgresAt
from tests.support.postgres import fresh_schema, release, server_uri, session_root
from tests.support.s3 import S3Bucket, fresh_bucket, run_s3_server
from tests.support.s3_gate import S3Gate, s3_gate


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """The session's PostgreSQL server (started once, shared by the xdist workers)."""
    root = session_root()
    yield server_uri(root)
    release(root)


@pytest.fixture
def postgres_at(postgres_uri: str) -> Iterator[PostgresAt]:
    """An empty ledger in PostgreSQL: a schema of its own."""
    with fresh_schema(postgres_uri) as at:
        yield at


@pytest.fixture
def shared_ledger(postgres_at: PostgresAt) -> PostgresAt:
    """The ledger several machines (homes) of one test share: an empty schema of its own."""
    return postgres_at


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One S3 server (moto) for the session, started only when a test asks for it."""
    with run_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[S3Bucket]:
    """A new, empty bucket for one test."""
    with fresh_bucket(s3_endpoint) as bucket:
        yield bucket


@pytest.fixture
def gate(s3_bucket: S3Bucket) -> Iterator[S3Gate]:
    """The test's bucket reached through a gate it can shut and open (a real outage)."""
    with s3_gate(s3_bucket.endpoint) as opened:
        yield opened

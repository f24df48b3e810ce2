"""The task queue's PostgreSQL for the worker tests: a schema of its own per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import fresh_schema, server_uri, session_root


@pytest.fixture
def queue_dsn() -> Iterator[str]:
    """A DSN whose search_path is a new, empty schema of the session's PostgreSQL server."""
    with fresh_schema(server_uri(session_root())) as at:
        yield at.dsn

"""Where the ledger under test lives: a SQLite file, or a schema of the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.state.ledger.connection import LedgerAt
from tests.support.postgres import emptied_ledger, fresh_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def ledger_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerAt]:
    """An empty ledger of each backend in turn, where every part opens its tables."""
    if request.param == "sqlite":
        yield tmp_path / "state" / "ledger.sqlite"
    else:
        with emptied_ledger(request.getfixturevalue("postgres_uri")) as at:
            yield at


@pytest.fixture(params=BACKENDS)
def ledger_alone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerAt]:
    """As `ledger_at`, but on PostgreSQL a database of its own: no other test's snapshot in it."""
    if request.param == "sqlite":
        yield tmp_path / "state" / "ledger.sqlite"
        return
    with fresh_database(request.getfixturevalue("postgres_uri")) as at:
        yield at

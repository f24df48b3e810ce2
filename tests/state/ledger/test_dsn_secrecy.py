"""A DSN holds a password: no message or log line about a ledger or queue that fails shows it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg.conninfo import make_conninfo

from etl.errors import EtlError
from etl.state.ledger.connection import connect
from etl.state.ledger.postgres import PostgresAt
from etl.worker.queue_db import prepare_schema

SECRET = "PgS3cret%XYZ"  # a generated password with a '%' not percent-encoded in the URI
USER = "nobodyZq7"  # a user the server does not know: its refusal names the user


def _open_ledger(dsn: str) -> None:
    connect(PostgresAt(dsn)).close()


def _open_queue(dsn: str) -> None:
    prepare_schema(dsn)


OPENERS: list[Callable[[str], None]] = [_open_ledger, _open_queue]


def _refused(opener: Callable[[str], None], dsn: str, caplog: pytest.LogCaptureFixture) -> str:
    with pytest.raises(EtlError) as caught:
        opener(dsn)
    message = str(caught.value)
    for shown in (message, caplog.text):
        assert "S3cret" not in shown and dsn not in shown, shown
        assert "\\n" not in shown and "\n" not in message, shown
    return message


@pytest.mark.parametrize("opener", OPENERS)
def test_a_dsn_with_a_bad_percent_token_is_refused_without_echoing_it(
    opener: Callable[[str], None], caplog: pytest.LogCaptureFixture
) -> None:
    message = _refused(opener, f"postgresql://etl:{SECRET}@/etl?host=/nowhere", caplog)
    assert "cannot be parsed" in message


@pytest.mark.parametrize("opener", OPENERS)
def test_a_dsn_that_is_only_a_password_is_refused_without_echoing_it(
    opener: Callable[[str], None], caplog: pytest.LogCaptureFixture
) -> None:
    message = _refused(opener, "PgS3cretXYZ", caplog)
    assert "cannot be parsed" in message


@pytest.mark.parametrize("opener", OPENERS)
def test_a_refused_connection_names_neither_password_nor_user(
    opener: Callable[[str], None], postgres_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = make_conninfo(postgres_uri, user=USER, password="PgS3cretXYZ")
    message = _refused(opener, dsn, caplog)
    assert USER not in message and "PostgreSQL" in message

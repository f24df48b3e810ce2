"""The shared Norce token's hard cases: a slow fetch, a race of refusals, a lost session, a close.

Against the Norce stand-in on loopback and the embedded PostgreSQL (found by review).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from etl.config.settings import load_settings
from etl.norce.client import NorceClient
from etl.runtime import Runtime
from etl.state.ledger.norce_tokens import SharedTokens
from etl.state.ledger.postgres import PostgresAt
from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import price_call
from tests.support.paths import SCHEMAS


def test_a_worker_waits_for_a_fetch_longer_than_the_ledgers_lock_timeout(
    norce: NorceStandin, postgres_at: PostgresAt
) -> None:
    at = dataclasses.replace(postgres_at, busy_timeout=1.0)  # stands in for 30 s
    settings = norce.settings(request_timeout_seconds=10.0)
    a = NorceClient(settings, shared=SharedTokens(at))
    b = NorceClient(settings, shared=SharedTokens(at))
    norce.slow_next(1, seconds=3.0, path=settings.token_path)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            a.post_import(price_call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.5)
    try:
        b.post_import(price_call())  # waits for a's token (it failed with LedgerBusy)
    finally:
        thread.join(20)
        a.close()
        b.close()
    assert errors == []
    assert norce.token_requests == 1


class _HoldsBsRefusal(httpx.HTTPTransport):
    """Real HTTP; thread B's first 401 reaches it only after thread A has fetched anew."""

    def __init__(self, a_done: threading.Event) -> None:
        super().__init__()
        self.a_done = a_done
        self.held = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        b_refused = threading.current_thread().name == "B" and response.status_code == 401
        if b_refused and not self.held:
            self.held = True
            response.read()
            self.a_done.wait(10)
        return response


def test_two_threads_refused_the_same_token_fetch_one_new_token(
    norce: NorceStandin, postgres_at: PostgresAt
) -> None:
    a_done = threading.Event()
    client = NorceClient(
        norce.settings(), transport=_HoldsBsRefusal(a_done), shared=SharedTokens(postgres_at)
    )
    failures: list[BaseException] = []
    try:
        client.post_import(price_call())
        norce.expire_tokens()

        def run(name: str) -> None:
            try:
                client.post_import(price_call())
            except BaseException as exc:
                failures.append(exc)
            finally:
                if name == "A":
                    a_done.set()

        b = threading.Thread(target=run, args=("B",), name="B")
        b.start()
        time.sleep(0.5)  # B waits on its 401
        a = threading.Thread(target=run, args=("A",), name="A")
        a.start()
        a.join(20)
        b.join(20)
    finally:
        client.close()
    assert failures == []
    assert norce.token_requests == 2  # the first, and one after the refusal (was 3)


def test_a_fetch_that_raises_releases_the_lock(postgres_at: PostgresAt) -> None:
    at = dataclasses.replace(postgres_at, busy_timeout=1.0)
    a, b = SharedTokens(at), SharedTokens(at)

    def norce_down() -> tuple[str, float]:
        raise RuntimeError("norce down")

    try:
        with pytest.raises(RuntimeError):
            a.token("c", norce_down)
        assert b.token("c", lambda: ("t2", 9e12)) == ("t2", 9e12)
    finally:
        a.close()
        b.close()


def test_a_token_fetched_while_the_ledger_session_dropped_is_still_used(
    postgres_at: PostgresAt,
) -> None:
    tokens = SharedTokens(postgres_at)
    pid = tokens._db.execute("SELECT pg_backend_pid()").fetchall()[0][0]

    def fetch_and_lose_session() -> tuple[str, float]:
        with psycopg.connect(postgres_at.dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return "t1", 9e12

    try:
        assert tokens.token("c", fetch_and_lose_session) == ("t1", 9e12)
    finally:
        tokens.close()


def _sessions(dsn: str, name: str) -> int:
    """This test's sessions (by their application name: other tests share the server)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchall()[0][0]
        )


def _sessions_after_close(dsn: str, name: str, *, within: float = 5.0) -> int:
    """This test's sessions once closed ones are gone: a closed client's backend leaves
    pg_stat_activity a moment after the client returns (it exits on its own time)."""
    deadline = time.monotonic() + within
    while (left := _sessions(dsn, name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_closing_a_runtime_closes_its_shared_token_session(
    norce: NorceStandin, postgres_at: PostgresAt, tmp_path: Path
) -> None:
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "home"\nschemas_dir = "{SCHEMAS}"\n[state]\nbackend = "postgresql"\n'
        'dsn_env = "ETL_STATE_DSN"\n\n[norce]\nmode = "http"\n'
        f'base_url = "{norce.base_url}"\nclient_id = "{norce.client_id}"\n'
        f'client_secret_env = "NORCE_SECRET"\nscope = "{norce.scope}"\n'
        "application_id = 1\naccount_id = 4711\nbackoff_seconds = 0\n"
        f'\n[stores.erp]\nkind = "local"\nroot = "{tmp_path}"\n',
        encoding="utf-8",
    )
    name = f"etl-test-{uuid.uuid4().hex[:12]}"
    dsn = make_conninfo(postgres_at.dsn, application_name=name)
    settings = load_settings(config, {"ETL_STATE_DSN": dsn, "NORCE_SECRET": norce.client_secret})
    runtimes = [Runtime.open(settings) for _ in range(3)]
    assert _sessions(postgres_at.dsn, name) >= 3  # the ledger's and the token's, each
    for rt in runtimes:
        rt.close()  # closed, though still referenced (as a caller's variable is)
    assert _sessions_after_close(postgres_at.dsn, name) == 0

"""Workers on one PostgreSQL ledger share Norce's token: one fetch, whoever holds its lock.

Norce's token endpoint allows 3 requests a minute per IP. Three workers (here three clients,
each with its own connection to the ledger, as each process has) calling Norce at the same
time fetch one token between them; a token Norce refuses is fetched again once, not once per
worker. Against the Norce stand-in on loopback and the embedded PostgreSQL.
"""

from __future__ import annotations

import threading

from etl.norce.client import NorceClient
from etl.state.ledger.norce_tokens import SharedTokens
from etl.state.ledger.postgres import PostgresAt
from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import price_call

WORKERS = 3


def _workers(norce: NorceStandin, at: PostgresAt) -> list[NorceClient]:
    return [NorceClient(norce.settings(), shared=SharedTokens(at)) for _ in range(WORKERS)]


def _all_at_once(clients: list[NorceClient]) -> None:
    start = threading.Barrier(len(clients))
    failures: list[BaseException] = []

    def post(client: NorceClient) -> None:
        start.wait()
        try:
            client.post_import(price_call())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []


def test_workers_calling_at_once_fetch_one_token(
    norce: NorceStandin, postgres_at: PostgresAt
) -> None:
    clients = _workers(norce, postgres_at)
    try:
        _all_at_once(clients)
        _all_at_once(clients)
    finally:
        for client in clients:
            client.close()
    assert norce.token_requests == 1
    assert len(norce.calls) == 2 * WORKERS


def test_a_token_norce_refuses_is_fetched_again_once_for_all_workers(
    norce: NorceStandin, postgres_at: PostgresAt
) -> None:
    clients = _workers(norce, postgres_at)
    try:
        _all_at_once(clients)
        norce.expire_tokens()  # every worker's token is now refused (401)
        for client in clients:  # one after another: the first fetches, the others read it
            client.post_import(price_call())
    finally:
        for client in clients:
            client.close()
    assert norce.token_requests == 2
    assert len(norce.calls) == 2 * WORKERS


def test_a_new_worker_takes_the_stored_token(norce: NorceStandin, postgres_at: PostgresAt) -> None:
    first = NorceClient(norce.settings(), shared=SharedTokens(postgres_at))
    try:
        first.post_import(price_call())
    finally:
        first.close()
    later = NorceClient(norce.settings(), shared=SharedTokens(postgres_at))  # a restart
    try:
        later.post_import(price_call())
    finally:
        later.close()
    assert norce.token_requests == 1

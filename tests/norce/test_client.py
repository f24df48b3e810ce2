"""NorceClient against the stand-in over loopback: auth, payload, retries, refusals."""

from __future__ import annotations

import logging
import socket

import pytest

from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.client import NorceClient
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import header, onhand_call, price_call, product_call

IMPORT = "Product/ImportSkuPriceLists"


def make_client(norce: NorceStandin, fake_time: FakeTime, **overrides: object) -> NorceClient:
    settings = norce.settings(**overrides)
    return NorceClient(settings, sleep=fake_time.sleep, clock=fake_time.clock)


def test_token_is_fetched_once_and_cached(norce: NorceStandin, client: NorceClient) -> None:
    first = client.post_import(price_call())
    client.post_import(onhand_call())
    client.get_job(first.job_id)
    client.get_job_log(first.job_id)
    assert norce.token_requests == 1


def test_token_is_refreshed_60s_before_expiry(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    client.post_import(price_call())
    fake_time.now += 3600 - 61
    client.post_import(price_call())
    assert norce.token_requests == 1
    fake_time.now += 2
    client.post_import(price_call())
    assert norce.token_requests == 2
    assert len(norce.calls) == 3


def test_a_401_fetches_a_fresh_token_and_retries_once(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    client.post_import(price_call())
    norce.expire_tokens()
    accepted = client.post_import(price_call())
    assert accepted.job_id == norce.calls[-1].job_id
    assert norce.token_requests == 2
    assert fake_time.sleeps == []


def test_a_second_401_is_rejected(norce: NorceStandin, client: NorceClient) -> None:
    norce.fail_next(2, status=401, path=IMPORT)
    with pytest.raises(NorceRejected, match=r"Product/ImportSkuPriceLists: HTTP 401"):
        client.post_import(price_call())
    assert norce.token_requests == 2
    assert norce.calls == []


def test_header_and_body_arrive_exactly(norce: NorceStandin, client: NorceClient) -> None:
    call = product_call()
    accepted = client.post_import(call)
    [recorded] = norce.calls
    assert recorded.method == "Product/ImportProducts"
    assert recorded.http_headers["x-stormconnect-header"] == call.header_line()
    assert "\n" not in recorded.http_headers["x-stormconnect-header"]
    assert recorded.http_headers["content-type"] == "application/json"
    assert recorded.http_headers["authorization"] == f"Bearer {norce.issued_tokens[0]}"
    assert "application-id" not in recorded.http_headers
    assert recorded.header == call.header
    assert recorded.items == list(call.items)
    assert accepted.job_id == recorded.job_id
    assert (accepted.total, accepted.validation_failures, accepted.messages) == (1, 0, ())


def test_application_id_header_is_sent_when_configured(
    norce: NorceStandin, fake_time: FakeTime
) -> None:
    with make_client(norce, fake_time, application_id=1234) as client:
        client.post_import(price_call())
        client.get_job(norce.calls[0].job_id)
    assert norce.calls[0].http_headers["application-id"] == "1234"


def test_429_is_retried_after_the_retry_after_seconds(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    norce.fail_next(2, status=429, retry_after=7, path=IMPORT)
    client.post_import(price_call())
    assert fake_time.sleeps == [7, 7]
    assert norce.hits(IMPORT) == 3
    assert len(norce.calls) == 1


def test_5xx_is_retried_with_exponential_backoff(norce: NorceStandin, fake_time: FakeTime) -> None:
    norce.fail_next(1, status=500, path=IMPORT)
    norce.fail_next(2, status=503, path=IMPORT)
    with make_client(norce, fake_time, backoff_seconds=1.0, max_attempts=4) as client:
        client.post_import(price_call())
    assert len(fake_time.sleeps) == 3
    for slept, base in zip(fake_time.sleeps, [1.0, 2.0, 4.0], strict=True):
        assert base <= slept <= base * 1.1


def test_token_endpoint_429_is_retried(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    norce.fail_next(1, status=429, retry_after=20, path="/connect/token")
    client.post_import(price_call())
    assert fake_time.sleeps == [20]
    assert norce.token_requests == 1  # the 429 never reached the token logic
    assert norce.hits("/connect/token") == 2


def test_timeout_is_retried(norce: NorceStandin, fake_time: FakeTime) -> None:
    with make_client(norce, fake_time, request_timeout_seconds=0.2) as client:
        job_id = client.post_import(price_call()).job_id
        norce.slow_next(1, seconds=1.0, path="Job/Get")
        status = client.get_job(job_id)
    assert status.job_id == job_id
    assert norce.hits("Job/Get") == 2
    assert len(fake_time.sleeps) == 1


def test_gives_up_after_max_attempts(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    norce.fail_next(10, status=503, path=IMPORT)
    with pytest.raises(NorceUnavailable) as caught:
        client.post_import(price_call())
    message = str(caught.value)
    assert IMPORT in message
    assert "after 3 attempts" in message
    assert "HTTP 503" in message
    assert norce.hits(IMPORT) == 3
    assert len(fake_time.sleeps) == 2


def test_connection_refused_is_unavailable(norce: NorceStandin, fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        make_client(norce, fake_time, base_url=f"http://127.0.0.1:{port}") as client,
        pytest.raises(
            NorceUnavailable, match=r"token request after 3 attempts; last: ConnectError"
        ),
    ):
        client.post_import(price_call())


def test_400_is_rejected_with_norces_message(
    norce: NorceStandin, client: NorceClient, fake_time: FakeTime
) -> None:
    call = price_call()
    full = type(call)(call.method, {**call.header, "FullFile": True}, call.items, call.label)
    with pytest.raises(NorceRejected) as caught:
        client.post_import(full)
    assert "HTTP 400" in str(caught.value)
    assert "FullFile must be false" in str(caught.value)
    assert norce.hits(IMPORT) == 1
    assert fake_time.sleeps == []


def test_wrong_credentials_are_rejected(norce: NorceStandin, fake_time: FakeTime) -> None:
    with (
        make_client(norce, fake_time, client_id="someone-else") as client,
        pytest.raises(NorceRejected, match=r"token request: HTTP 401: .*invalid_client"),
    ):
        client.post_import(price_call())


def test_job_status_and_log_are_parsed(norce: NorceStandin, client: NorceClient) -> None:
    norce.insert_key = "Inserts"  # the C# contract's spelling
    norce.finish_next_jobs(1, messages=["PartNo 9 unknown"], severity=2)
    job_id = client.post_import(onhand_call()).job_id
    first = client.get_job(job_id)
    assert (first.status_id, first.is_finished) == (1, False)
    final = client.get_job(job_id)
    assert (final.status_id, final.is_finished, final.totals) == (2, True, 1)
    assert (final.inserts, final.updates, final.failures) == (1, 0, 1)
    assert final.run_time == "00:00:01"
    log = client.get_job_log(job_id)
    assert [e.message for e in log] == ["Starting import.", "PartNo 9 unknown", "Import finished."]
    assert [e.severity_id for e in log] == [1, 2, 1]


def test_unknown_job_is_rejected(client: NorceClient) -> None:
    with pytest.raises(NorceRejected, match=r"Job/Get: HTTP 404"):
        client.get_job("999999")


def test_secret_and_token_never_leak(
    norce: NorceStandin, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with make_client(norce, fake_time) as client:
        norce.fail_next(1, status=429, retry_after=1, path="/connect/token")
        client.post_import(price_call())
        norce.expire_tokens()
        norce.fail_next(1, status=500, path=IMPORT)
        client.post_import(price_call())
        bad_header = header("SkuPriceListFieldsThatAreSet", [99])
        bad = type(price_call())(IMPORT, bad_header, price_call().items, "bad")
        for failing in (lambda: client.post_import(bad), lambda: client.get_job("nope")):
            with pytest.raises(NorceRejected) as caught:
                failing()
            texts += [str(caught.value), repr(caught.value), str(caught.value.__cause__)]
        norce.fail_next(3, status=503)
        with pytest.raises(NorceUnavailable) as down:
            client.post_import(price_call())
        texts += [str(down.value), repr(down.value)]
    with (
        make_client(norce, fake_time, client_id="x") as client,
        pytest.raises(NorceRejected) as refused,
    ):
        client.post_import(price_call())
    texts.append(str(refused.value))
    assert "posted Product/ImportSkuPriceLists" in caplog.text
    assert len(norce.issued_tokens) == 2
    for secret in [norce.client_secret, *norce.issued_tokens]:
        assert secret not in caplog.text
        assert all(secret not in text for text in texts)

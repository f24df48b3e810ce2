"""HttpDelivery against the stand-in: post in order, poll to completion, judge each job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.client import NorceClient
from etl.norce.http_delivery import HttpDelivery
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import (
    company_call,
    customer_call,
    onhand_call,
    price_call,
    product_call,
)


@pytest.fixture
def delivery(norce: NorceStandin, fake_time: FakeTime) -> Iterator[HttpDelivery]:
    settings = norce.settings(job_poll_seconds=0.5, job_timeout_seconds=3.0)
    with NorceClient(settings, sleep=fake_time.sleep, clock=fake_time.clock) as client:
        yield HttpDelivery(client, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def test_posts_in_order_and_polls_each_job_to_completion(
    norce: NorceStandin, delivery: HttpDelivery, fake_time: FakeTime
) -> None:
    calls = [product_call(), price_call(), onhand_call(), company_call(), customer_call()]
    results = delivery.deliver(calls, "batch-1")
    assert [c.method for c in norce.calls] == [c.method for c in calls]
    assert [r.job_id for r in results] == [c.job_id for c in norce.calls]
    assert {r.status for r in results} == {"succeeded"}
    assert norce.hits("Job/Get") == 2 * len(calls)  # "Initialized" first, then final
    assert fake_time.sleeps == [0.5] * len(calls)
    first = results[0]
    assert (first.label, first.method, first.items) == (calls[0].label, calls[0].method, 1)
    assert first.bytes == len(calls[0].body_bytes())
    assert first.location == f"{norce.base_url}/commerce/connect/4.0/Product/ImportProducts"
    assert (first.inserts, first.updates, first.failures, first.warnings) == (1, 0, 0, ())


def test_state_holds_what_was_sent(norce: NorceStandin, delivery: HttpDelivery) -> None:
    delivery.deliver([product_call(), price_call(), customer_call()], "batch-1")
    second = {"PartNo": "100123", "PriceListCode": "STD-SEK", "PriceSale": 69.0}
    [result] = delivery.deliver([price_call(second)], "batch-2")
    assert (result.inserts, result.updates) == (0, 1)
    state = norce.state
    assert state.skus["100123"]["ManufacturerPartNo"] == "AG-100-L"
    assert state.prices[("100123", "STD-SEK", 1)] == second
    assert state.customers["C-1"]["FirstName"] == "Anna"


def test_validation_summary_messages_are_warnings(
    norce: NorceStandin, delivery: HttpDelivery
) -> None:
    norce.finish_next_jobs(1, validation_messages=["item 2: unknown field ignored"])
    [result] = delivery.deliver([onhand_call()], "batch-1")
    assert result.status == "succeeded" and result.failures == 0
    assert result.warnings == ("item 2: unknown field ignored",)


def test_a_succeeded_job_with_failed_rows_is_rejected(
    norce: NorceStandin, delivery: HttpDelivery
) -> None:
    # Rows Norce did not import must not be committed as sent: the run fails and is retried.
    norce.finish_next_jobs(1, messages=["PartNo 9 unknown"], severity=3)
    with pytest.raises(NorceRejected) as caught:
        delivery.deliver([onhand_call()], "batch-1")
    assert "finished with 1 of" in str(caught.value) and "rows not imported" in str(caught.value)
    assert "PartNo 9 unknown [row 0]" in str(caught.value)


@pytest.mark.parametrize(("status_id", "words"), [(3, "failed"), (4, "failed validation")])
def test_failed_jobs_are_rejected_with_their_log(
    norce: NorceStandin, delivery: HttpDelivery, status_id: int, words: str
) -> None:
    norce.finish_next_jobs(1, status_id=status_id, messages=["Price list X missing", "b", "c", "d"])
    with pytest.raises(NorceRejected) as caught:
        delivery.deliver([price_call()], "batch-1")
    message = str(caught.value)
    job_id = norce.calls[0].job_id
    assert message.startswith(f"0001-ImportSkuPriceLists-change1: Norce job {job_id} {words}: ")
    assert "Price list X missing [row 0]; b [row 1]; c [row 2]" in message
    assert "d [row 3]" not in message
    assert norce.state.prices == {}


def test_a_failed_job_stops_the_batch_after_every_call_was_posted(
    norce: NorceStandin, delivery: HttpDelivery
) -> None:
    norce.finish_next_jobs(1, status_id=3, messages=["boom"])
    with pytest.raises(NorceRejected, match="boom"):
        delivery.deliver([price_call(), onhand_call()], "batch-1")
    assert len(norce.calls) == 2


def test_a_job_that_never_finishes_is_unavailable(
    norce: NorceStandin, delivery: HttpDelivery, fake_time: FakeTime
) -> None:
    norce.polls_before_finish = 1_000
    with pytest.raises(NorceUnavailable, match=r"not finished within 3s"):
        delivery.deliver([price_call()], "batch-1")
    assert fake_time.sleeps == [0.5] * 6


def test_nothing_to_deliver(norce: NorceStandin, delivery: HttpDelivery) -> None:
    assert delivery.deliver([], "batch-1") == []
    assert norce.hits() == 0

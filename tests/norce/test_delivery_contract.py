"""The Delivery contract: every test here runs against FileDelivery and HttpDelivery.

What the callers rely on (etl.runtime, the master-data flow, approvals, etl.to_norce.documents.party_codes):
one result per call in call order; every call arrives once, in order, exactly as built;
an empty batch sends nothing; the same batch delivered again (a re-run after a crash, a
restart) leaves the far side as once; one delivery serves several feed threads (Runtime.fork);
a NorceError means nothing of the batch may be committed: NorceUnavailable when Norce gave no
clear answer, NorceRejected when it refused, carrying the HTTP status of a refused post and
none for a failed job (party_codes reads one as the document's refusal, the other as the setup's).

Where the two differ, a test says so and skips the one it does not apply to. One more
difference lives outside `deliver`: etl.runtime stages file-mode calls in the run's own folder
(`FileDelivery.staged`) and shows them in `outbox/norce/` only when the run commits, while a
post to Norce cannot wait for the commit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from etl.config.settings import NorceSettings
from etl.entities.calls import NorceCall
from etl.errors import NorceRejected, NorceUnavailable
from etl.norce.base import Delivery
from etl.norce.client import NorceClient
from etl.norce.file_delivery import FileDelivery
from etl.norce.http_delivery import HttpDelivery
from tests.support.clock import FakeTime
from tests.support.norce.app import NorceStandin
from tests.support.norce.samples import onhand_call, price_call, product_call

Arrival = tuple[str, dict[str, Any], list[dict[str, Any]]]  # method, header, items
BATCH = "products/p_1-3f2a9c1b0d4e"


@dataclass
class Far:
    """A Delivery under test and what its far side (Norce, or the outbox) received."""

    kind: str
    factory: Callable[[], Delivery]
    arrived: Callable[[], list[Arrival]]  # in arrival order
    holds: Callable[[], object]  # what the far side keeps, to compare
    standin: NorceStandin | None = None
    opened: list[NorceClient] = field(default_factory=list)

    def make(self) -> Delivery:
        """A new delivery, as a new process would open it."""
        return self.factory()

    def norce(self, why: str) -> NorceStandin:
        """The stand-in behind an http delivery; skips the file kind with `why`."""
        if self.standin is None:
            pytest.skip(f"file mode: {why}")
        return self.standin


@pytest.fixture(params=["file", "http"])
def far(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Far]:
    """Every Delivery implementation in turn."""
    if request.param == "file":
        outbox = tmp_path / "outbox"
        yield Far(
            "file",
            factory=lambda: FileDelivery(outbox, NorceSettings()),
            arrived=lambda: _outbox_arrivals(outbox / "norce"),
            holds=lambda: _outbox_files(outbox / "norce"),
        )
        return
    norce: NorceStandin = request.getfixturevalue("norce")
    settings = norce.settings()
    chosen = Far(
        "http",
        factory=lambda: _http(settings, chosen),
        arrived=lambda: _standin_arrivals(norce),
        holds=lambda: _standin_holds(norce),
        standin=norce,
    )
    yield chosen
    for client in chosen.opened:
        client.close()


@pytest.fixture
def delivery(far: Far) -> Delivery:
    """A delivery of the kind under test."""
    return far.make()


def _http(settings: NorceSettings, far: Far) -> Delivery:
    client = NorceClient(settings)
    far.opened.append(client)
    return HttpDelivery(client, settings)


def _standin_arrivals(norce: NorceStandin) -> list[Arrival]:
    return [(c.method, c.header, c.items) for c in norce.calls]


def _standin_holds(norce: NorceStandin) -> object:
    state = norce.state
    return (state.products, state.skus, state.prices, state.onhands)


def _outbox_arrivals(root: Path) -> list[Arrival]:
    """Each written call as it would be posted; by batch, then by label (they carry a number)."""
    arrived: list[Arrival] = []
    for request_file in sorted(root.rglob("*.request.json")):
        request = json.loads(request_file.read_text())
        body = request_file.with_name(request_file.name.replace(".request.json", ".json"))
        method = request["path"].removeprefix(NorceSettings().connect_path + "/")
        header = json.loads(request["headers"]["X-StormConnect-Header"])
        arrived.append((method, header, json.loads(body.read_bytes())))
    return arrived


def _outbox_files(root: Path) -> object:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _batch(*tags: str) -> list[NorceCall]:
    """Valid calls with distinct, numbered labels, as the payload builders name them."""
    built = [product_call(), price_call(), onhand_call()]
    calls = [replace(c, label=f"{n:04}-{c.method.split('/')[1]}") for n, c in enumerate(built, 1)]
    return [replace(c, label=f"{c.label}-{tag}") for tag in tags or ("a",) for c in calls]


def _as_built(calls: list[NorceCall]) -> list[Arrival]:
    return [(c.method, dict(c.header), [dict(i) for i in c.items]) for c in calls]


# -- what arrives ---------------------------------------------------------------------------


def test_every_call_arrives_once_in_order_exactly_as_built(far: Far, delivery: Delivery) -> None:
    calls = _batch()

    delivery.deliver(calls, BATCH)

    assert far.arrived() == _as_built(calls)


def test_one_result_per_call_in_call_order(delivery: Delivery) -> None:
    calls = _batch()

    results = delivery.deliver(calls, BATCH)

    assert [(r.label, r.method) for r in results] == [(c.label, c.method) for c in calls]
    assert [r.items for r in results] == [len(c.items) for c in calls]
    assert [r.bytes for r in results] == [len(c.body_bytes()) for c in calls]
    assert all(r.location for r in results)
    # Written calls have no job (yet); a call Norce imported names its job.
    assert {(r.status, r.job_id is None) for r in results} <= {
        ("written", True),
        ("succeeded", False),
    }


def test_an_empty_batch_sends_nothing(far: Far, delivery: Delivery) -> None:
    assert delivery.deliver([], BATCH) == []
    assert far.arrived() == []


def test_the_same_batch_again_after_a_restart_leaves_the_far_side_as_once(
    far: Far, delivery: Delivery
) -> None:
    calls = _batch()
    first = delivery.deliver(calls, BATCH)
    once = far.holds()

    again = far.make().deliver(calls, BATCH)

    assert far.holds() == once
    assert [(r.label, r.items, r.bytes) for r in again] == [
        (r.label, r.items, r.bytes) for r in first
    ]


def test_the_same_batch_again_is_written_over_not_beside(far: Far, delivery: Delivery) -> None:
    if far.kind == "http":
        pytest.skip(
            "http mode posts the batch again: Norce receives it twice, and what it holds "
            "stays as once because imports match on their keys (the test above)"
        )
    calls = _batch()
    delivery.deliver(calls, BATCH)

    far.make().deliver(calls, BATCH)

    assert far.arrived() == _as_built(calls)


def test_one_delivery_serves_several_feed_threads(far: Far, delivery: Delivery) -> None:
    batches = {f"feed{n}/b-{n}": _batch(f"t{n}") for n in range(3)}
    results: dict[str, list[str]] = {}

    def send(batch: str) -> None:
        results[batch] = [r.label for r in delivery.deliver(batches[batch], batch)]

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {b: [c.label for c in calls] for b, calls in batches.items()}
    expected = sorted(map(repr, _as_built([c for calls in batches.values() for c in calls])))
    assert sorted(map(repr, far.arrived())) == expected


# -- failures -------------------------------------------------------------------------------


def test_no_answer_from_norce_is_unavailable(far: Far, delivery: Delivery) -> None:
    norce = far.norce("nothing is posted, so nothing can go unanswered")
    norce.fail_next(3, status=503, path="Product/ImportSkuPriceLists")  # every attempt

    with pytest.raises(NorceUnavailable):
        delivery.deliver(_batch(), BATCH)


@pytest.mark.parametrize(("status", "times"), [(400, 1), (403, 1), (401, 2)])
def test_a_refused_post_is_rejected_with_its_status_and_stops_the_batch(
    far: Far, delivery: Delivery, status: int, times: int
) -> None:
    # A 401 is refused twice: the first only makes the client fetch a new token.
    norce = far.norce("nothing is posted, so nothing is refused")
    calls = _batch()
    norce.fail_next(times, status=status, path=calls[1].method, message="PriceListCode unknown")

    with pytest.raises(NorceRejected) as caught:
        delivery.deliver(calls, BATCH)

    assert (caught.value.status, caught.value.detail) == (status, "PriceListCode unknown")
    assert far.arrived() == _as_built(calls[:1])  # the calls after it were never posted


@pytest.mark.parametrize(
    ("status_id", "messages"), [(3, ["Import failed"]), (4, ["Validation failed"]), (2, ["Sku 42"])]
)
def test_a_job_that_did_not_import_everything_is_rejected_without_a_status(
    far: Far, delivery: Delivery, status_id: int, messages: list[str]
) -> None:
    # StatusId 2 with rows not imported too: committing would record them as sent.
    norce = far.norce("no job runs, so none can fail")
    norce.finish_next_jobs(1, status_id=status_id, messages=messages)

    with pytest.raises(NorceRejected, match=messages[0]) as caught:
        delivery.deliver(_batch(), BATCH)

    assert caught.value.status is None


def test_a_job_that_does_not_finish_in_time_is_unavailable(far: Far, tmp_path: Path) -> None:
    norce = far.norce("no job runs, so there is nothing to wait for")
    norce.polls_before_finish = 1_000_000
    fake = FakeTime()
    settings = norce.settings(job_poll_seconds=1.0, job_timeout_seconds=5.0)
    with NorceClient(settings, sleep=fake.sleep, clock=fake.clock) as client:
        slow: Delivery = HttpDelivery(client, settings, sleep=fake.sleep, clock=fake.clock)
        with pytest.raises(NorceUnavailable, match="not finished within 5s"):
            slow.deliver(_batch(), BATCH)

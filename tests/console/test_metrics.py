"""`/metrics` over HTTP on a real receiver, parsed with the official client's parser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from etl.console.metrics import metrics_text
from etl.to_norce.replay import find_archived, queue_replay
from tests.console.page_home import (
    AUTH,
    console_settings,
    open_alerts,
    products_run,
    running_console,
)
from tests.support.expected_desk import Desk, utc
from tests.support.orders import encode, order
from tests.support.receiver import Receiver

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(receiver: Receiver) -> Samples:
    """Every sample of /metrics by name and labels."""
    answer = httpx.get(receiver.url("/metrics"), auth=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    tmp_path: Path = tmp_path_factory.mktemp("metrics")
    settings = console_settings(tmp_path, metrics=True)
    products_run(settings, tmp_path)
    open_alerts(settings)
    with running_console(settings) as receiver:
        yield receiver


def test_runs_rows_and_delta_sizes_per_feed_and_outcome(served: Receiver) -> None:
    samples = scrape(served)
    committed = (("feed", "products"), ("outcome", "committed"))
    assert samples["etl_runs_total", committed] == 2
    assert samples["etl_rows_total", committed] == 10 + 2
    assert samples["etl_rejected_rows_total", committed] == 3
    assert samples["etl_delta_rows_total", (("action", "adds"), *committed)] == 7
    assert samples["etl_delta_rows_total", (("action", "removals"), *committed)] == 0
    assert samples["etl_delta_rows_total", (("action", "held"), *committed)] == 5
    assert samples["etl_failed_runs_total", (("feed", "products"),)] == 0


def test_orders_file_age_and_open_problems(served: Receiver) -> None:
    assert served.post(encode(order("METRICS-1"))).status_code == 200
    samples = scrape(served)
    assert samples["etl_orders", (("state", "spooled"),)] == 1
    age = samples["etl_newest_file_age_seconds", (("feed", "products"),)]
    assert 0 <= age < 600
    assert samples["etl_open_problems", (("kind", "held_removals"),)] == 1
    assert samples["etl_open_problems", (("kind", "failed"),)] == 0


def test_metrics_want_the_console_credentials(served: Receiver) -> None:
    for auth in (None, ("operator", "wrong")):
        answer = httpx.get(served.url("/metrics"), auth=auth, timeout=10)
        assert answer.status_code == 401
        assert "etl_runs" not in answer.text


def test_metrics_are_off_unless_asked_for(tmp_path: Path) -> None:
    with running_console(console_settings(tmp_path)) as receiver:
        assert httpx.get(receiver.url("/metrics"), auth=AUTH, timeout=10).status_code == 404


def test_a_replay_does_not_make_a_stale_feed_look_fresh(tmp_path: Path) -> None:
    # Found by review: after `replay --now` the newest file's age was the replay's, seconds.
    desk = Desk(tmp_path)
    try:
        written = utc(2026, 11, 21, 4, 50)
        desk.drop("products_20261121.csv", written)
        desk.take(utc(2026, 11, 21, 4, 55))
        [run] = desk.rt.ledger.runs("products", 1)
        queue_replay(desk.rt, find_archived(desk.rt, desk.contracts, run.run_id), "a fix")
        desk.take(utc(2026, 11, 30, 6, 0), outcome="committed")

        before = dt.datetime.now(dt.UTC)
        text = metrics_text(desk.rt.settings, desk.contracts).decode()
    finally:
        desk.rt.close()
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "etl_newest_file_age_seconds"
    ]
    [sample] = family.samples
    assert sample.value >= (before - written).total_seconds() - 1

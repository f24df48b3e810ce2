"""`/metrics` on the receiver: the ledger in the Prometheus text format, read at scrape time.

A custom collector of the official client reads the ledger each time it is scraped, so the
scheduler's and the receiver's processes (which share the ledger) give the same numbers and
nothing is counted in memory. The run totals are one aggregate query over the runs table
(the ledger has no such view); the rest asks the functions `status` and the page use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.console.page_data import order_counts
from etl.console.problems import KINDS
from etl.console.sources import find_problems
from etl.runtime import Runtime
from etl.state.ledger.arrivals import Arrivals
from etl.state.ledger.connection import Tables

# The kinds of etl.console.problems.Problem: each is exported, 0 when there is none, so an
# alert rule on one kind has a series to watch before the first problem of that kind.
PROBLEM_KINDS = KINDS
# An order's states in the book (etl.to_erp.orders.book): each is exported, 0 when no order
# is in it, so the series exists before the first order.
ORDER_STATES = ("spooled", "held", "exported")
# What a master-data run's delta holds (its counts), by the action each is.
DELTA_ACTIONS = ("adds", "changes", "reactivations", "removals", "held", "spared")
# The counts are summed here, not in SQL: json_extract is SQLite's, and a run's counts are a
# small JSON object on either ledger (etl.state.ledger: SQLite or PostgreSQL).
_RUN_COUNTS = "SELECT feed, outcome, counts FROM runs ORDER BY feed, outcome"
_SUMMED = ("rows", "rejected", *DELTA_ACTIONS)


class RunTotals(Tables):
    """Runs and their counts summed per feed and outcome, over the whole ledger."""

    def metrics(self) -> list[Metric]:
        """Runs, failures, rows, rejected rows and delta sizes, per feed and outcome."""
        runs = CounterMetricFamily("etl_runs", "Runs recorded", labels=["feed", "outcome"])
        failed = CounterMetricFamily("etl_failed_runs", "Runs that failed", labels=["feed"])
        rows = CounterMetricFamily("etl_rows", "Rows read", labels=["feed", "outcome"])
        rejected = CounterMetricFamily(
            "etl_rejected_rows", "Rows rejected", labels=["feed", "outcome"]
        )
        delta = CounterMetricFamily(
            "etl_delta_rows", "Delta sizes by action", labels=["feed", "outcome", "action"]
        )
        failures: Counter[str] = Counter()
        totals = _totals(self._db.execute(_RUN_COUNTS).fetchall())
        for (feed, outcome), sums in totals.items():
            runs.add_metric([feed, outcome], sums["runs"])
            rows.add_metric([feed, outcome], sums["rows"])
            rejected.add_metric([feed, outcome], sums["rejected"])
            for action in DELTA_ACTIONS:
                delta.add_metric([feed, outcome, action], sums[action])
            if outcome == "failed":
                failures[feed] += sums["runs"]
        for feed in sorted({feed for feed, _ in totals}):
            failed.add_metric([feed], failures[feed])  # 0 too: a series to alert on
        return [runs, failed, rows, rejected, delta]


def _totals(rows: list[Any]) -> dict[tuple[str, str], Counter[str]]:
    """Runs, and their counts summed, per (feed, outcome), in the rows' order."""
    totals: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        sums = totals.setdefault((str(row["feed"]), str(row["outcome"])), Counter())
        sums["runs"] += 1
        counts = json.loads(row["counts"]) if row["counts"] else {}
        for name in _SUMMED:
            sums[name] += int(counts.get(name) or 0)
    return totals


class LedgerCollector(Collector):
    """Reads the ledger (and what `status` reads) each time it is collected."""

    def __init__(self, settings: Settings, contracts: dict[str, FeedContract]) -> None:
        self.settings = settings
        self.contracts = contracts

    def collect(self) -> Iterator[Metric]:
        """Every metric, read now."""
        rt = Runtime.open(self.settings)
        try:
            totals = RunTotals(rt.ledger.at)
            try:
                yield from totals.metrics()
            finally:
                totals.close()
            now = dt.datetime.now(dt.UTC)
            yield _orders(order_counts(rt.ledger.at))
            yield _file_ages(rt, self.contracts, now)
            yield _problems(rt, self.contracts, now)
        finally:
            rt.close()


def metrics_text(settings: Settings, contracts: dict[str, FeedContract]) -> bytes:
    """The metrics page: a registry of its own with only the ledger's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(settings, contracts))
    return generate_latest(registry)


def _orders(counts: dict[str, int]) -> Metric:
    orders = GaugeMetricFamily("etl_orders", "Orders by state", labels=["state"])
    for state in sorted(set(ORDER_STATES) | counts.keys()):
        orders.add_metric([state], counts.get(state, 0))
    return orders


def _file_ages(rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime) -> Metric:
    """Seconds since each feed's newest file came from the ERP (a replay is not one)."""
    ages = GaugeMetricFamily(
        "etl_newest_file_age_seconds", "Age of the newest file per feed", labels=["feed"]
    )
    arrivals = Arrivals(rt.ledger.at)
    try:
        for feed in sorted(contracts):
            came = arrivals.recent(feed, 1)
            if came:
                ages.add_metric([feed], max(0.0, (now - came[-1]).total_seconds()))
    finally:
        arrivals.close()
    return ages


def _problems(rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime) -> Metric:
    kinds = Counter(p.kind for p in find_problems(rt, contracts, now))
    problems = GaugeMetricFamily("etl_open_problems", "Problems needing a person", labels=["kind"])
    for kind in sorted(set(PROBLEM_KINDS) | kinds.keys()):
        problems.add_metric([kind], kinds[kind])
    return problems

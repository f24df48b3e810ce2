"""`/metrics` on the receiver: the ledger in the Prometheus text format, read at scrape time.

A custom collector of the official client reads the ledger each time it is scraped, so the
scheduler's and the receiver's processes (which share the ledger) give the same numbers and
nothing is counted in memory. The run totals are one aggregate query over the runs table
(the ledger has no such view); the rest asks the functions `status` and the page use.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

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
_TOTALS = (
    "SELECT feed, outcome, COUNT(*) AS runs, "
    "SUM(COALESCE(json_extract(counts, '$.rows'), 0)) AS rows_, "
    "SUM(COALESCE(json_extract(counts, '$.rejected'), 0)) AS rejected, "
    "SUM(COALESCE(json_extract(counts, '$.adds'), 0)) AS adds, "
    "SUM(COALESCE(json_extract(counts, '$.changes'), 0)) AS changes, "
    "SUM(COALESCE(json_extract(counts, '$.reactivations'), 0)) AS reactivations, "
    "SUM(COALESCE(json_extract(counts, '$.removals'), 0)) AS removals, "
    "SUM(COALESCE(json_extract(counts, '$.held'), 0)) AS held, "
    "SUM(COALESCE(json_extract(counts, '$.spared'), 0)) AS spared "
    "FROM runs GROUP BY feed, outcome ORDER BY feed, outcome"
)


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
        totals = self._db.execute(_TOTALS).fetchall()
        for r in totals:
            feed, outcome = str(r["feed"]), str(r["outcome"])
            runs.add_metric([feed, outcome], r["runs"])
            rows.add_metric([feed, outcome], r["rows_"])
            rejected.add_metric([feed, outcome], r["rejected"])
            for action in DELTA_ACTIONS:
                delta.add_metric([feed, outcome, action], r[action])
            if outcome == "failed":
                failures[feed] += int(r["runs"])
        for feed in sorted({str(r["feed"]) for r in totals}):
            failed.add_metric([feed], failures[feed])  # 0 too: a series to alert on
        return [runs, failed, rows, rejected, delta]


class LedgerCollector(Collector):
    """Reads the ledger (and what `status` reads) each time it is collected."""

    def __init__(self, settings: Settings, contracts: dict[str, FeedContract]) -> None:
        self.settings = settings
        self.contracts = contracts

    def collect(self) -> Iterator[Metric]:
        """Every metric, read now."""
        rt = Runtime.open(self.settings)
        try:
            totals = RunTotals(rt.areas.ledger)
            try:
                yield from totals.metrics()
            finally:
                totals.close()
            now = dt.datetime.now(dt.UTC)
            yield _orders(order_counts(rt.areas.ledger))
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
    arrivals = Arrivals(rt.ledger.path)
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

"""Held orders are one problem per hold reason, however many share it (review of issue 17)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.alerts.book import recent_alerts
from etl.alerts.tick import alert_tick
from etl.config.alert_settings import AlertSettings
from etl.config.storage_settings import StorageSettings
from etl.console.order_problems import order_problems
from etl.state.areas import Areas
from etl.to_erp.orders.book import OrderBook

_T0 = dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC)
_PRICE = "price check failed"


def _held(areas: Areas, n: int, reason: str) -> None:
    book = OrderBook(areas.ledger)
    try:
        ref = f"R{n:02d}"
        at = f"2026-01-01T00:00:{n:02d}.000+00:00"
        book.receive(ref, f"s{ref}", f"{ref}.json", "json", "push", at)
        book.hold(ref, reason, at)
    finally:
        book.close()


def _tick(areas: Areas, minutes: int) -> str:
    problems = order_problems(areas.ledger, areas, StorageSettings())
    summary = alert_tick(
        areas.ledger, AlertSettings(), problems, _T0 + dt.timedelta(minutes=minutes)
    )
    return summary.lines()[0]


def test_one_more_order_held_for_the_same_reason_resolves_nothing(tmp_path: Path) -> None:
    areas = Areas(tmp_path)
    areas.ledger.parent.mkdir(parents=True, exist_ok=True)
    for n in range(10):
        _held(areas, n, _PRICE)
    assert _tick(areas, 0) == "alerts: 1 new, 0 resolved, 0 sent"

    _held(areas, 10, _PRICE)
    assert _tick(areas, 5) == "alerts: 0 new, 0 resolved, 0 sent"
    _held(areas, 11, "customer on credit stop")
    assert _tick(areas, 10) == "alerts: 1 new, 0 resolved, 0 sent"

    alerts = recent_alerts(areas.ledger, 10)
    assert [a.resolved_at for a in alerts] == [None, None]
    [price] = [
        p for p in order_problems(areas.ledger, areas, StorageSettings()) if _PRICE in p.what
    ]
    assert (price.subject, price.since) == ("11 orders", "2026-01-01T00:00:00.000+00:00")
    assert "R00" in price.what and "R09" in price.what and "and 1 more" in price.what


def test_releasing_orders_resolves_a_reason_only_when_none_is_left(tmp_path: Path) -> None:
    areas = Areas(tmp_path)
    areas.ledger.parent.mkdir(parents=True, exist_ok=True)
    for n in range(11):
        _held(areas, n, _PRICE)
    _held(areas, 11, "customer on credit stop")
    assert _tick(areas, 0) == "alerts: 2 new, 0 resolved, 0 sent"

    book = OrderBook(areas.ledger)
    try:  # back to ten held for the price check: nothing changes for the alerts
        assert book.release("R10", "2026-01-01T00:01:00.000+00:00")
    finally:
        book.close()
    assert _tick(areas, 5) == "alerts: 0 new, 0 resolved, 0 sent"

    book = OrderBook(areas.ledger)
    try:
        assert book.release("R11", "2026-01-01T00:02:00.000+00:00")
    finally:
        book.close()
    assert _tick(areas, 10) == "alerts: 0 new, 1 resolved, 0 sent"
    still_open = [a.problem.what for a in recent_alerts(areas.ledger, 10) if not a.resolved_at]
    assert len(still_open) == 1 and _PRICE in still_open[0]

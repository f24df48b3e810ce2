"""Every feed has a row on the page, every order state a series in /metrics (review of
issue 17)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.console.metrics import metrics_text
from etl.console.page_data import page_data
from etl.console.page_html import render_page
from etl.runtime import Runtime
from tests.support.masterdata import settings_for


@pytest.fixture
def settings(home: Path, tmp_path: Path) -> Settings:
    return settings_for(home, LocalStoreSettings(root=tmp_path / "erp"))


def test_order_states_have_a_series_while_the_book_is_empty(settings: Settings) -> None:
    text = metrics_text(settings, load_contracts(settings)).decode()
    for state in ("spooled", "held", "exported"):
        assert f'etl_orders{{state="{state}"}} 0.0' in text, state


def _feed_row(html: str, feed: str) -> str:
    runs = html.split("<h2>Runs on", 1)[1].split("</table>", 1)[0]
    return next(row for row in runs.split("<tr>") if f"<td>{feed}</td>" in row)


def test_a_feed_that_did_not_run_today_or_yesterday_shows_its_last_run(
    settings: Settings,
) -> None:
    contracts = load_contracts(settings)
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        old = "2026-01-05T06:00:00+00:00"
        rt.ledger.start_run("20260105T060000000-products-old", "products", "list", old, None, None)
        rt.ledger.fail_run("20260105T060000000-products-old", old, "failed", "no folder")
        now = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
        html = render_page(page_data(rt, contracts, now, 5), "/console")
    finally:
        rt.close()
    row = _feed_row(html, "products")
    assert "no run today or yesterday" in row and "2026-01-05" in row and "failed" in row
    other = next(name for name in sorted(contracts) if name != "products")
    assert "no runs yet" in _feed_row(html, other)

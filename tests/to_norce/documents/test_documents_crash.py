"""A process killed after its calls, before its commit: the next run sends nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import (
    APPLICATION_ID,
    PAYMENT,
    book,
    invoice_contract,
    make_home,
    receive_order,
    run,
    settings_for,
    write_invoices,
)
from tests.support.masterdata import signal_at_commit_point
from tests.support.norce.app import NorceStandin
from tests.support.norce.orders import OrderStandin
from tests.support.paths import REPO

PRODUCT_ROWS = [
    "INV-1;1001;SO-1;2026-11-20;SEK;0;247.00;1;100123;2;79.20;19.80",
    "INV-1;1001;SO-1;2026-11-20;SEK;0;247.00;2;FREIGHT;1;39.20;9.80",
    "INV-2;1001;SO-1;2026-11-25;SEK;1;148.00;1;100124;1;79.20;19.80",
    "INV-2;1001;SO-1;2026-11-25;SEK;1;148.00;2;FREIGHT;1;39.20;9.80",
]


@pytest.mark.slow
def test_killed_at_the_commit_point_the_rerun_captures_nothing_twice(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    norce: NorceStandin,
    orders: OrderStandin,
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    receive_order(home, 1001, PAYMENT)
    write_invoices(drop, "a.csv", PRODUCT_ROWS)
    config = home / "etl.toml"
    config.write_text(
        "pause_before_commit_seconds = 30\n"
        f'[stores.erp]\nkind = "local"\nroot = "{drop}"\n'
        f'[norce]\nmode = "http"\nbase_url = "{norce.base_url}"\nclient_id = "{norce.client_id}"\n'
        f'client_secret_env = "NORCE_SECRET"\napplication_id = {APPLICATION_ID}\n',
        encoding="utf-8",
    )
    env = {**os.environ, "NORCE_SECRET": norce.client_secret}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", str(config), "once"],
        cwd=home,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )

    signal_at_commit_point(process, signal.SIGKILL)
    process.wait(timeout=30)

    assert orders.captures == [("INV-1", Decimal("247.00")), ("INV-2", Decimal("99.00"))]
    assert (drop / "invoices_csv" / "a.csv").exists()  # not committed: read again next run

    [again] = run(settings_for(home, local, http), "invoices_csv")

    assert again.outcome == "committed"
    assert again.counts["already_sent"] == 2 and again.counts["sent"] == 0
    assert again.counts["fees_dropped"] == 1  # the committed run's report still says so
    assert len(orders.captures) == 2
    documents = book(home)
    try:
        assert documents.counts() == {"sent": 2}
    finally:
        documents.close()

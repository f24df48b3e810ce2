"""A master-data CSV feed's run loads only what it uses, so its start-up stays cheap.

Importing `etl` and opening the runtime came before the first byte of every feed: openpyxl
(the XLSX report), lxml (through openpyxl), APScheduler and asyncio (a contract's crontab
lines) and the documents flow (its book, sender and order model) were a third of it. Each
is now imported where it is used (etl.read.reports, etl.config.contract_expect,
etl.to_norce.run); these runs, each in a fresh interpreter, keep it so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.homes import home_with_feeds
from tests.support.import_probe import probe
from tests.support.paths import REPO

EMBEDDED = REPO / "etl" / "embedded"
SAMPLE = EMBEDDED / "samples" / "erp" / "products" / "products_20261120.csv"

# Loaded by a clean CSV master-data run, none of them: each costs start-up and is used
# only by reports, XML, XLSX, schedules, documents or Norce over HTTP.
NOT_FOR_A_CLEAN_CSV_FEED = [
    "apscheduler",
    "asyncio",
    "etl.to_norce.documents.flow",
    "etl.to_erp.orders.model",
    "httpx",
    "lxml",
    "openpyxl",
    "paramiko",
]

_PROBE = """
import json, sys
from pathlib import Path
from etl.config.contract_files import load_contracts
from etl.config.settings import load_settings
from etl.runtime import Runtime
from etl.to_norce.run import run_feed

settings = load_settings(Path(sys.argv[1]) / "etl.toml", {})
rt = Runtime.open(settings)
outcomes = run_feed(rt, load_contracts(settings)["products"])
rt.close()
print(json.dumps({
    "outcomes": [o.outcome for o in outcomes],
    "loaded": sorted(m for m in sys.argv[2:] if m in sys.modules),
}))
"""


def _products_home(root: Path, extra_rows: str = "") -> Path:
    """The embedded products contract (on an interval) and its sample's seven good rows."""
    text = (EMBEDDED / "schemas" / "products.toml").read_text(encoding="utf-8")
    # A crontab line brings APScheduler in to check it (a cost only such contracts pay).
    on_interval = text.replace('cron = "15 2 * * *"', "interval_minutes = 15")
    assert on_interval != text
    home = home_with_feeds(root, {"products": on_interval})
    good = SAMPLE.read_bytes().splitlines(keepends=True)[:8]  # its lines 9-11 are rejected
    (home / "erp" / "products" / SAMPLE.name).write_bytes(
        b"".join(good) + extra_rows.encode("cp1252")
    )
    return home


def _run(home: Path) -> dict[str, list[str]]:
    return probe(_PROBE, str(home), *NOT_FOR_A_CLEAN_CSV_FEED)


@pytest.mark.slow
def test_a_clean_csv_master_data_run_loads_no_library_it_does_not_use(tmp_path: Path) -> None:
    result = _run(_products_home(tmp_path))

    assert result == {"outcomes": ["committed"], "loaded": []}


@pytest.mark.slow
def test_a_run_with_a_rejected_row_loads_openpyxl_for_its_report(tmp_path: Path) -> None:
    # The other side of the pin: the report's library comes when a report is written.
    bad_row = "X-1;ACME;Acme;AG-1;AG-1;Handske;Handske;GLOVES;not-an-ean;25;0,1\r\n"
    result = _run(_products_home(tmp_path, bad_row))

    assert result["outcomes"] == ["committed"]
    assert "openpyxl" in result["loaded"]

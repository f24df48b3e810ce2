"""Small helpers for flow tests: open a runtime on a home, run feeds, read what landed."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.run_order import order_of_runs
from etl.config.settings import (
    LocalStoreSettings,
    NorceSettings,
    Settings,
    SftpStoreSettings,
)
from etl.runtime import Runtime
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import run_feed
from tests.fixtures.feeds import PRODUCTS_HEADER
from tests.support.paths import REPO

# Three products in the shipped dialect (write_cp1252_products), two of one family.
PRODUCT_ROWS = [
    "100123;ACME;Acme AB;AG-100-L;AG-100;Handske L;;GLOVES;7350000000016;25;0,12",
    "100124;ACME;Acme AB;AG-100-XL;AG-100;Handske XL;;GLOVES;7350000000023;25;0,13",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa;;LIGHTS;6410000000018;25;0,21",
]


def settings_for(
    home: Path, store: LocalStoreSettings | SftpStoreSettings, norce: NorceSettings | None = None
) -> Settings:
    """Settings rooted at `home` with one store called `erp`."""
    return Settings(
        home=home,
        schemas_dir=home / "schemas",
        stores={"erp": store},
        norce=norce or NorceSettings(),
    )


def run_once(settings: Settings, feed: str | None = None) -> list[FileOutcome]:
    """One pass over one feed (or all), the way `run.py once` does it."""
    contracts = load_contracts(settings)
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        chosen: list[FeedContract] = [contracts[feed]] if feed else list(contracts.values())
        return [o for c in chosen for o in run_feed(rt, c)]
    finally:
        rt.close()


def manifests(home: Path, feed: str) -> list[dict[str, Any]]:
    """Every published manifest of a feed, oldest first."""
    paths = sorted((home / "archive" / feed).glob("*/*/manifest.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def write_cp1252_products(path: Path, rows: list[str]) -> None:
    """A products export in the shipped dialect: semicolons, cp1252, decimal commas, CRLF."""
    head = PRODUCTS_HEADER
    path.write_bytes(("\r\n".join([head, *rows]) + "\r\n").encode("cp1252"))


def signal_at_commit_point(process: subprocess.Popen[str], signum: signal.Signals) -> str:
    """Read the process's log until delivery is done ("committing"), send `signum`; returns the log so far.

    The run must be configured with pause_before_commit_seconds so it waits there.
    """
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if "committing" in line:
            process.send_signal(signum)
            return "".join(seen)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError("the run never reached the commit point:\n" + "".join(seen))


def local_settings_file(home: Path, erp: Path, pause: float) -> Path:
    """An etl.toml for a real `run.py` on `home`, the ERP a local folder; waits `pause` s at commit."""
    path = home / f"etl-{pause:g}.toml"
    path.write_text(
        f'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = {pause}\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return path


def start_products_once(config: Path, home: Path) -> subprocess.Popen[str]:
    """A real `run.py --config CONFIG once --feed products` in its own process."""
    command = [sys.executable, str(REPO / "run.py"), "--config", str(config), "once"]
    return subprocess.Popen(
        [*command, "--feed", "products"],
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_all(settings: Settings, at: dt.datetime) -> None:
    """One pass over every feed, the way `run.py once` runs them, with the clock at `at`."""
    contracts = load_contracts(settings)
    rt = Runtime.open(settings, clock=lambda: at, sleep=lambda s: None)
    try:
        for contract in order_of_runs(contracts):
            run_feed(rt, contract)
    finally:
        rt.close()

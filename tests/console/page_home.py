"""A home for the console's tests: a products feed with rejected rows and held removals."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from etl.alerts.book import AlertBook
from etl.config.contract_files import load_contracts
from etl.config.settings import ConsoleSettings, LocalStoreSettings, ReceiverSettings, Settings
from etl.console.page_route import console_routes
from etl.console.sources import find_problems
from etl.receiver.app import ReceiverApp
from etl.runtime import Runtime
from etl.state.ledger.feed_runs import Ledger
from tests.support.masterdata import run_once
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.receiver import PASSWORD, USER, Receiver, bound_socket

CONSOLE_USER, CONSOLE_PASSWORD = "operator", "console-test-password"
# An ERP file name is the ERP's text: the page must show it, never run it.
HOSTILE_NAME = "products_<script>alert(1)<b>.csv"


def products_contract(schemas: Path) -> None:
    """The shipped products contract, alerting from 2 rejected rows and holding 2 removals."""
    schemas.mkdir(parents=True, exist_ok=True)
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    text = text.replace("max_removals = 10", "max_removals = 1")
    (schemas / "products.toml").write_text(text + "\n[checks]\nalert_rejected_rows = 1\n")


def console_settings(tmp_path: Path, **console: object) -> Settings:
    """The products contract, the ERP's folder in tmp_path, the console on."""
    products_contract(tmp_path / "schemas")
    config = ConsoleSettings(username=CONSOLE_USER, password=SecretStr(CONSOLE_PASSWORD))
    config = config.model_copy(update=console)
    receiver = ReceiverSettings(username=USER, password=SecretStr(PASSWORD), console=config)
    return Settings(
        home=tmp_path / "home",
        stores={"erp": LocalStoreSettings(root=tmp_path / "erp")},
        receiver=receiver,
        schemas_dir=tmp_path / "schemas",
    )


def products_run(settings: Settings, tmp_path: Path) -> str:
    """The sample products file (3 rows rejected) taken by a real run, then a file with 2 of
    its products, whose removals the guard holds; the first run's id."""
    folder = tmp_path / "erp" / "products"
    folder.mkdir(parents=True)
    sample = next((SAMPLES / "products").glob("products_*.csv"))
    shutil.copy(sample, folder / HOSTILE_NAME)
    run_once(settings, "products")
    lines = sample.read_bytes().splitlines(keepends=True)
    (folder / "products_zz_shrunk.csv").write_bytes(b"".join(lines[:3]))
    run_once(settings, "products")
    ledger = Ledger(settings.folder("state") / "ledger.sqlite")
    try:
        return ledger.runs("products", 2)[1].run_id
    finally:
        ledger.close()


def open_alerts(settings: Settings) -> None:
    """What the alerts job does each tick: the problems of now into the alert book."""
    rt = Runtime.open(settings)
    book = AlertBook(rt.areas.ledger)
    try:
        problems = find_problems(rt, load_contracts(settings), dt.datetime.now(dt.UTC))
        book.reconcile(problems, [], dt.datetime.now(dt.UTC))
    finally:
        book.close()
        rt.close()


AUTH = (CONSOLE_USER, CONSOLE_PASSWORD)


@contextmanager
def running_console(settings: Settings) -> Iterator[Receiver]:
    """The receiver as `run.py receive` makes it (console routes handed in) under uvicorn."""
    app = ReceiverApp(settings, console_routes(settings, load_contracts(settings)))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    sock = bound_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Receiver(settings, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

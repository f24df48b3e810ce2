"""A file the process dies reading, twice, is quarantined: the feed goes on with the next file."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from etl.state.ledger.feed_runs import Ledger
from tests.support.masterdata import (
    PRODUCT_ROWS,
    local_settings_file,
    start_products_once,
    write_cp1252_products,
)


def _kill_while_reading(config: Path, home: Path, before: set[str]) -> str:
    """Start `once` and SIGKILL it while the ledger says a new run is reading; its run id."""
    process = start_products_once(config, home)
    ledger = home / "state" / "ledger.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ledger.exists():
            with sqlite3.connect(ledger) as db:
                try:
                    reading = {row[0] for row in db.execute("SELECT run_id FROM reading")}
                except sqlite3.OperationalError:
                    reading = set()  # the table is not there yet
            if reading - before:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                return (reading - before).pop()
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the run never started reading")


def test_a_file_that_killed_the_process_twice_is_set_aside_and_the_next_goes_on(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    write_cp1252_products(erp / "products" / "products_1.csv", PRODUCT_ROWS)
    write_cp1252_products(erp / "products" / "products_2.csv", PRODUCT_ROWS[:2])
    # Waits while reading, to be killed there: a reader running out of memory, in effect.
    deadly = home / "deadly.toml"
    deadly.write_text(
        'home = "."\nschemas_dir = "schemas"\npause_while_reading_seconds = 60\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )

    first = _kill_while_reading(deadly, home, set())
    _kill_while_reading(deadly, home, {first})
    third = start_products_once(local_settings_file(home, erp, 0), home)
    _, err = third.communicate(timeout=120)

    assert third.returncode == 3, err  # a whole file rejected: worth an alert
    ledger = Ledger(home / "state" / "ledger.sqlite")
    try:
        runs = ledger.runs("products")
    finally:
        ledger.close()
    assert [
        (r.remote_path.rsplit("/", 1)[-1] if r.remote_path else "", r.outcome) for r in runs
    ] == [
        ("products_2.csv", "committed"),
        ("products_1.csv", "rejected"),
        ("products_1.csv", "interrupted"),
        ("products_1.csv", "interrupted"),
    ]
    rejected = runs[1]
    assert rejected.message is not None and rejected.message.startswith("quarantined: ")
    assert "died 2 times while reading" in rejected.message
    assert all(r.message == "process stopped while reading the file" for r in runs[2:])
    assert (erp / "products" / "rejected" / "products_1.csv").exists()
    [manifest] = (home / "archive" / "products" / "rejected").rglob("manifest.json")
    assert json.loads(manifest.read_text(encoding="utf-8"))["code"] == "quarantined"
    assert not [p for p in (home / "inbox" / "products").iterdir() if p.name.startswith(".")]

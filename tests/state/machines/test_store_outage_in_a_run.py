"""A run whose object store is down fails as an outage: one line naming the bucket, file kept.

Like a disk or Norce outage, not "failed unexpectedly" with a traceback: nothing is committed,
the file waits on the ERP's server, and the next run, with the store back, takes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.to_norce.records import FileOutcome
from tests.support.masterdata import run_once
from tests.support.norce.app import NorceStandin
from tests.support.norce.auth import TOKEN_PATH
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW, drop_customers
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import (
    KEY_ENV,
    PREFIX,
    customers_run,
    s3_config,
    s3_settings,
    second_home,
)

DOWN = "http://127.0.0.1:9"  # nothing listens there
LATER = "kunder_later.csv"


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def test_a_store_outage_fails_the_run_as_an_outage_and_the_next_run_takes_the_file(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    drop_customers(erp_root, LATER, [ANNA_ROW])
    s3_config(S3Bucket(DOWN, s3_bucket.name), home, erp_root)
    caplog.set_level(logging.INFO)

    failed = [o for o in run_once(s3_settings(home), "customers") if o.name == LATER]

    assert failed and {o.outcome for o in failed} == {"failed"}, failed
    messages = [o.message or "" for o in failed]
    assert not [m for m in messages if "unexpected" in m or "\n" in m], messages
    assert s3_bucket.name in messages[0], messages
    assert "failed unexpectedly" not in caplog.text and "Traceback" not in caplog.text
    s3_config(s3_bucket, home, erp_root)  # the store is back
    again = [o for o in run_once(s3_settings(home), "customers") if o.name == LATER]
    assert {(o.feed, o.outcome) for o in again} >= {("customers", "committed")}, again


def test_a_store_outage_while_a_norce_error_is_reported_fails_the_run_as_an_outage(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, norce: NorceStandin
) -> None:
    """Norce refuses the call; the snapshot whose names mask its text is gone meanwhile."""
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    other = second_home(s3_bucket, home, erp_root)  # fetches the snapshot: it can be watched
    drop_customers(erp_root, LATER, [ANNA_ROW])
    norce.slow_next(seconds=1.5, path=TOKEN_PATH)  # the run's first call to Norce waits...
    norce.fail_next(status=400, message="Customer Eva Ek refused")  # ...then is refused
    settings = s3_settings(other).model_copy(update={"norce": norce.settings()})
    outcomes: list[FileOutcome] = []
    run = threading.Thread(target=lambda: outcomes.extend(run_once(settings, "customers")))
    run.start()
    copy = other / "state" / "snapshots" / "customers"
    _wait_for(lambda: copy.is_dir() and any(copy.glob("*.parquet")))
    for key in s3_bucket.listed_keys(f"{PREFIX}/state/snapshots/customers/"):
        s3_bucket.delete(key)  # read once by the run, then gone from the bucket
    run.join(timeout=60)

    failed = [o for o in outcomes if o.feed == "customers" and o.name == LATER]
    assert [o.outcome for o in failed] == ["failed"], outcomes
    message = failed[0].message or ""
    assert "withheld" in message and "Eva" not in message and "unexpected" not in message
    assert norce.hits() > 0  # Norce was called: the failure is the one reported on the way


def _wait_for(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, "the run never fetched the snapshot"
        time.sleep(0.01)

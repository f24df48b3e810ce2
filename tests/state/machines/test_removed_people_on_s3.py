"""The purge's reduction of removed people's snapshot rows reaches the snapshot in the bucket.

Two homes are two machines on one bucket and one ledger: the first runs the feed, the second
(which never held a copy of the snapshot) purges, and every later read, on either machine,
sees the reduced row.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from etl.config.contract_files import load_contracts
from etl.retention.snapshots import reduce_removed_rows
from etl.runtime import Runtime, ledger_at
from etl.state.ledger.feed_runs import Ledger
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import KEY_ENV, PREFIX, customers_run, s3_settings, second_home

LATER = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)  # past the customers' 90 days


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _eva_removed(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> str:
    """Eva's row inactive in the current snapshot; the snapshot's key in the bucket."""
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    run_id = customers_run(s3_bucket, home, erp_root, [ANNA_ROW])
    return f"{PREFIX}/state/snapshots/customers/{run_id}.parquet"


def _reduce(home: Path) -> int:
    settings = s3_settings(home)
    contract = load_contracts(settings)["customers"]
    ledger = Ledger(ledger_at(settings))
    try:
        return reduce_removed_rows(settings, ledger, contract, LATER, dry_run=False).removed
    finally:
        ledger.close()


def _emails_read(home: Path) -> list[str | None]:
    """The e-mails of the current customers snapshot as a run on `home` reads it."""
    rt = Runtime.open(s3_settings(home))
    try:
        current = rt.ledger.current_snapshot("customers")
        assert current is not None
        fields = load_contracts(rt.settings)["customers"].entity.fields()
        return sorted(rt.snapshots.read(current[0], fields)["email"].to_list(), key=str)
    finally:
        rt.close()


def test_a_machine_with_a_copy_reduces_the_object_and_no_read_brings_values_back(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    key = _eva_removed(s3_bucket, home, erp_root)

    assert _reduce(home) == 1

    stored = pl.read_parquet(io.BytesIO(s3_bucket.objects(key)[key]))
    assert "eva.ek@example.se" not in stored.write_csv()
    assert _emails_read(home) == [None, "anna.andersson@example.se"]


def test_a_machine_without_a_copy_reduces_the_object(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    key = _eva_removed(s3_bucket, home, erp_root)
    other = second_home(s3_bucket, home, erp_root)

    assert _reduce(other) == 1

    stored = pl.read_parquet(io.BytesIO(s3_bucket.objects(key)[key]))
    assert "eva.ek@example.se" not in stored.write_csv()
    assert _emails_read(home) == [None, "anna.andersson@example.se"]  # its stale copy re-fetched

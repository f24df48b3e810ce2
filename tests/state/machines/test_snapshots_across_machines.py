"""A feed run on one machine, the next on another: the second diffs against the first's snapshot.

Two homes stand for two machines: the same settings, one PostgreSQL ledger, one S3 bucket
(moto's real S3 API), each its own folders. Home A takes the products export, home B the
next one: B must send only the delta, the very bytes one machine doing both runs sends
(home R, SQLite and folders, as always), and both batches land in the bucket's outbox.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import PostgresAt
from tests.support.masterdata import run_once
from tests.support.s3 import S3Bucket
from tests.support.shared_homes import (
    PREFIX,
    erp_copy,
    local_home,
    next_export,
    outbox_in_bucket,
    outbox_on_disk,
    shared_home,
)


def test_the_next_run_on_another_machine_sends_only_the_delta(
    tmp_path: Path, s3_bucket: S3Bucket, postgres_at: PostgresAt
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn)
    b = shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn)
    alone = local_home(tmp_path / "r", erp_copy(tmp_path, "erp-r"))

    first = run_once(a, "products")
    next_export(erp)
    second = run_once(b, "products")
    run_once(alone, "products")
    next_export(alone.stores["erp"].root)  # type: ignore[union-attr]
    run_once(alone, "products")

    assert [o.outcome for o in first + second] == ["committed", "committed"]
    counts = second[0].counts
    assert (counts["adds"], counts["changes"], counts["removals"]) == (1, 1, 1)
    assert outbox_in_bucket(s3_bucket) == outbox_on_disk(alone.home)
    assert len({k.split("/")[1] for k in outbox_in_bucket(s3_bucket)}) == 2  # two batches
    assert not (a.home / "outbox" / "norce").exists()


def test_b_diffs_against_a_fetched_copy_of_the_snapshot_a_committed(
    tmp_path: Path,
    s3_bucket: S3Bucket,
    postgres_at: PostgresAt,
    caplog: pytest.LogCaptureFixture,
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn)
    b = shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn)
    run_once(a, "products")
    ledger = Ledger(postgres_at)
    first = ledger.current_snapshot("products")
    assert first is not None
    key = f"{PREFIX}/state/snapshots/{first[0]}"
    written = (a.home / "state" / "snapshots" / first[0]).read_bytes()
    assert s3_bucket.objects(key) == {key: written}

    next_export(erp)
    with caplog.at_level(logging.INFO, logger="etl.state.blob_snapshots"):
        run_once(b, "products")

    assert f"snapshot {first[0]} fetched from object storage ({len(written)} bytes)" in caplog.text
    second = ledger.current_snapshot("products")
    ledger.close()
    assert second is not None and second[1] != first[1]
    # B fetched A's snapshot to diff, then swept it: no commit points at it any more.
    assert s3_bucket.listed_keys(f"{PREFIX}/state/snapshots/") == [
        f"{PREFIX}/state/snapshots/{second[0]}"
    ]
    assert not (b.home / "state" / "snapshots" / first[0]).exists()
    assert (b.home / "state" / "snapshots" / second[0]).is_file()

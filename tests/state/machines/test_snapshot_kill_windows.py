"""A machine dies around its commit; the next run, on another machine, still diffs right.

The snapshot goes to object storage before the ledger commit (create-only), so the ledger
never points at a snapshot another machine cannot get:
- killed after the upload, before the commit (a real `run.py once`, SIGKILL'd while its
  commit waits for the ledger's write lock): the object is an orphan no commit points at;
  the next run elsewhere diffs against what the ledger says (here: nothing yet), and sweeps
  the orphan once that run is marked interrupted;
- dead after the commit, before its outbox batch was published (the bucket refused it):
  the next run elsewhere diffs against the committed snapshot, and the dead machine's next
  run publishes the batch it had staged.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from etl.config.contract_files import load_contracts
from etl.norce.file_delivery import BlobNorceOutbox
from etl.runtime import Runtime
from etl.state.blob_batches import BlobBatches
from etl.state.blobs import S3Blobs
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.postgres import _TAKE_WRITE_LOCK, PostgresAt
from etl.to_norce.run import run_feed
from tests.support.masterdata import run_once
from tests.support.paths import REPO
from tests.support.s3 import S3Bucket
from tests.support.shared_homes import (
    PREFIX,
    environ,
    erp_copy,
    local_home,
    next_export,
    outbox_in_bucket,
    outbox_on_disk,
    shared_home,
)

SNAPSHOTS = f"{PREFIX}/state/snapshots/products/"


def _start_once(home: Path, dsn: str) -> subprocess.Popen[str]:
    """A real `run.py once --feed products` on `home`, its secrets in its environment."""
    command = [sys.executable, str(REPO / "run.py"), "--config", str(home / "etl.toml"), "once"]
    return subprocess.Popen(
        [*command, "--feed", "products"],
        cwd=home,
        env={**os.environ, **environ(dsn)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen[str], text: str) -> None:
    assert process.stderr is not None
    seen = []
    while line := process.stderr.readline():
        seen.append(line)
        if text in line:
            return
    process.kill()
    raise AssertionError(f"never logged {text!r}:\n" + "".join(seen))


def _wait_for_keys(bucket: S3Bucket, prefix: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if keys := bucket.listed_keys(prefix):
            return keys
        time.sleep(0.05)
    raise AssertionError(f"nothing was put under {prefix}")


@pytest.mark.slow
def test_killed_after_the_upload_before_the_commit(
    tmp_path: Path, s3_bucket: S3Bucket, postgres_at: PostgresAt
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn, pause=1)
    b = shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn)
    alone = local_home(tmp_path / "r", erp_copy(tmp_path, "erp-r"))
    worker = _start_once(a.home, postgres_at.dsn)
    _wait_for_line(worker, "committing")
    with psycopg.connect(postgres_at.dsn) as holder:  # the ledger's write lock, held
        holder.execute(_TAKE_WRITE_LOCK)
        orphan = _wait_for_keys(s3_bucket, SNAPSHOTS)  # uploaded; the commit now waits
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        holder.rollback()
    ledger = Ledger(postgres_at)
    assert ledger.current_snapshot("products") is None  # nothing committed

    taken = run_once(b, "products")  # another machine: diffs against nothing, as it must
    run_once(alone, "products")

    assert [o.outcome for o in taken] == ["committed"]
    assert outbox_in_bucket(s3_bucket) == outbox_on_disk(alone.home)
    current = ledger.current_snapshot("products")
    assert current is not None
    assert s3_bucket.listed_keys(SNAPSHOTS) == [f"{PREFIX}/state/snapshots/{current[0]}"]
    assert orphan[0] != f"{PREFIX}/state/snapshots/{current[0]}"  # the orphan was swept

    next_export(erp)  # the dead machine is back: it diffs against B's snapshot
    next_export(alone.stores["erp"].root)  # type: ignore[union-attr]
    again = run_once(a, "products")
    run_once(alone, "products")
    ledger.close()
    counts = again[0].counts
    assert (counts["adds"], counts["changes"], counts["removals"]) == (1, 1, 1)
    assert outbox_in_bucket(s3_bucket) == outbox_on_disk(alone.home)


def test_dead_after_the_commit_before_the_outbox_publish(
    tmp_path: Path, s3_bucket: S3Bucket, postgres_at: PostgresAt
) -> None:
    erp = erp_copy(tmp_path, "erp")
    a = shared_home(tmp_path / "a", erp, s3_bucket, postgres_at.dsn)
    b = shared_home(tmp_path / "b", erp, s3_bucket, postgres_at.dsn)
    alone = local_home(tmp_path / "r", erp_copy(tmp_path, "erp-r"))
    # A's outbox publishes to a bucket that is not there: its commit stands, its batch stays staged.
    gone = a.storage.model_copy(update={"bucket": "no-such-bucket-here"})
    rt = Runtime.open(a, sleep=lambda s: None)
    unpublished = BlobNorceOutbox(a.home / "outbox", BlobBatches(S3Blobs(gone, "outbox/norce")))
    rt = dataclasses.replace(rt, outbox=unpublished)
    try:
        first = run_feed(rt, load_contracts(a)["products"])
    finally:
        rt.close()
    assert [o.outcome for o in first] == ["committed"]
    assert outbox_in_bucket(s3_bucket) == {}
    assert list((a.home / "outbox" / ".norce").iterdir())  # staged, waiting

    next_export(erp)
    second = run_once(b, "products")  # diffs against A's committed snapshot
    counts = second[0].counts
    assert (counts["adds"], counts["changes"], counts["removals"]) == (1, 1, 1)

    run_once(a, "products")  # A's next run publishes what it had staged
    run_once(alone, "products")
    next_export(alone.stores["erp"].root)  # type: ignore[union-attr]
    run_once(alone, "products")
    assert outbox_in_bucket(s3_bucket) == outbox_on_disk(alone.home)
    assert list((a.home / "outbox" / ".norce").iterdir()) == []

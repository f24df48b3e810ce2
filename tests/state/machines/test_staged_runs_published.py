"""A run committed while the bucket was down is published by the machine's next job (issue 21).

The run's archive folder stays staged on the committing machine's disk when its upload fails
(etl.state.blob_archive `publish`); that machine's next run of the feed used to be the only one
to publish it, and under procrastinate that run may go to another machine for good. So every
job a worker starts, and every alerts tick (the scheduler's too), publishes what is staged here.
The bucket goes down and comes back through a gate in front of the real S3 server.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from etl.alert_jobs import alerts_job
from etl.config.contract_files import load_contracts
from etl.runtime import Runtime
from etl.state.areas import Areas
from etl.state.blob_archive import BlobArchive, open_archive
from etl.state.ledger.base import Commit
from etl.state.ledger.feed_runs import Ledger
from etl.state.manifest import Manifest
from etl.worker.tasks import worker_jobs
from tests.support.paths import SCHEMAS
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_gate import S3Gate
from tests.support.s3_homes import KEY_ENV, PREFIX, run_py, s3_config, s3_settings

MARK = f"{PREFIX}/archive/products/2026-12-07/r1.published"


@pytest.fixture
def staged_home(
    tmp_path: Path, s3_bucket: S3Bucket, gate: S3Gate, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A home whose products run r1 committed while the bucket was down: staged on its disk."""
    monkeypatch.setenv(KEY_ENV, KEY_ID)
    home, erp = tmp_path / "home", tmp_path / "erp"
    erp.mkdir()
    config = s3_config(dataclasses.replace(s3_bucket, endpoint=gate.endpoint), home, erp)
    config.write_text(f'schemas_dir = "{SCHEMAS}"\n' + config.read_text(), encoding="utf-8")
    areas = Areas(home)
    archive = open_archive(s3_settings(home).storage, areas.archive)
    assert isinstance(archive, BlobArchive)
    ledger = Ledger(areas.ledger)
    try:
        ledger.start_run("r1", "products", "file", "2026-12-07T10:00:00+00:00", None, None)
        staged = archive.stage("products", "2026-12-07", "r1")
        archive.write_manifest(staged, Manifest.new(run_id="r1", outcome="committed"))
        (staged / "p.csv").write_bytes(b"Artikelnr;Namn\r\n")
        final = "archive/products/2026-12-07/r1"  # as the ledger keeps it
        ledger.commit(
            Commit("r1", "products", "committed", "2026-12-07T10:00:01+00:00", {}, [], final)
        )
        gate.shut()
        archive.publish(staged)  # after the commit: the upload fails, the folder stays
        gate.open()
    finally:
        ledger.close()
    assert staged.is_dir()
    return home


def test_a_workers_next_job_of_any_feed_publishes_it(
    staged_home: Path, s3_bucket: S3Bucket
) -> None:
    assert s3_bucket.listed_keys(MARK) == []
    settings = s3_settings(staged_home)
    rt = Runtime.open(settings)
    try:
        jobs = {w.job.name: w.job for w in worker_jobs(rt, load_contracts(settings))}
        jobs["buyer_numbers"].run(rt, None)  # another feed's job, on this machine
    finally:
        rt.close()

    assert s3_bucket.listed_keys(MARK) == [MARK]
    assert not list(Areas(staged_home).archive.rglob(".*.part"))


def test_the_alerts_tick_publishes_it(staged_home: Path, s3_bucket: S3Bucket) -> None:
    _alerts_tick(staged_home)

    assert s3_bucket.listed_keys(MARK) == [MARK]


def test_status_names_a_committed_run_the_bucket_lacks_until_it_is_published(
    staged_home: Path, s3_bucket: S3Bucket
) -> None:
    # Another machine: the same settings and ledger, none of the first one's disk.
    other = staged_home.parent / "other"
    shutil.copytree(staged_home, other, ignore=shutil.ignore_patterns("archive"))

    code, said = run_py(other, "status", "--feed", "products")
    assert code == 0, said
    assert "Committed, not yet in the bucket" in said
    assert "products  r1  archive/products/2026-12-07/r1" in said

    _alerts_tick(staged_home)
    code, said = run_py(other, "status", "--feed", "products")
    assert "not yet in the bucket" not in said, said


def _alerts_tick(home: Path) -> None:
    """One tick of the scheduler's alerts job on `home`."""
    settings = s3_settings(home)
    rt = Runtime.open(settings)
    try:
        alerts_job(load_contracts(settings), settings.alerts, "scheduler").run(rt, None)
    finally:
        rt.close()

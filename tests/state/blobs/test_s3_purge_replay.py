"""Purge and replay of runs archived in object storage: they cannot reach them yet, and say so."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import Settings, load_settings
from etl.errors import EtlError
from etl.retention.purge import describe, purge_all
from etl.runtime import Runtime
from etl.to_norce.replay import find_archived
from tests.support.masterdata import run_once
from tests.support.s3 import KEY_ID, SECRET, S3Bucket

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # every run past every retention


def _s3_home(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> Settings:
    secret_file = home / "s3-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    config = home / "etl.toml"
    config.write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\nread_only = true\n'
        f'[storage]\nbackend = "s3"\nbucket = "{s3_bucket.name}"\n'
        f'endpoint_url = "{s3_bucket.endpoint}"\nregion = "eu-north-1"\nretry_seconds = 0\n'
        f'access_key_id_env = "TEST_S3_KEY"\nsecret_access_key_file = "{secret_file}"\n',
        encoding="utf-8",
    )
    return load_settings(config, {"TEST_S3_KEY": KEY_ID})


def test_purge_says_it_cannot_reach_runs_in_object_storage(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _s3_home(s3_bucket, home, erp_root)
    assert {o.outcome for o in run_once(settings, "customers")} == {"committed"}

    with caplog.at_level(logging.WARNING):
        purged = purge_all(settings, load_contracts(settings), LATER, dry_run=True)

    customers = next(s for s in purged.archive if s.area == "customers")
    said = describe(customers, dry_run=True)
    assert "object storage" in said and "cannot reach" in said and "0 folder" not in said
    assert "customers" in caplog.text and "personal data" in caplog.text
    assert "not purged" in caplog.text


def test_replay_says_the_run_is_in_object_storage(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    settings = _s3_home(s3_bucket, home, erp_root)
    outcome = run_once(settings, "customers")[0]
    assert outcome.run_id is not None
    rt = Runtime.open(settings)
    try:
        with pytest.raises(EtlError) as caught:
            find_archived(rt, load_contracts(settings), outcome.run_id)
    finally:
        rt.close()
    said = str(caught.value)
    assert f"run {outcome.run_id} is in object storage" in said and "cannot reach" in said
    assert "is gone" not in said


def test_run_py_replay_of_a_run_in_object_storage_fails(
    s3_bucket: S3Bucket,
    home: Path,
    erp_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _s3_home(s3_bucket, home, erp_root)
    run_id = run_once(settings, "customers")[0].run_id
    assert run_id is not None
    monkeypatch.setenv("TEST_S3_KEY", KEY_ID)  # the environment the command reads its key from

    assert main(["--config", str(home / "etl.toml"), "replay", run_id]) == 1
    assert f"run {run_id} is in object storage" in caplog.text

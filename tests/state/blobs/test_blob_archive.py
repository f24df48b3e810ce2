"""The archive on S3 beyond the contract: a publish that died half-way, and a real run's archive.

The contract (tests/state/test_archive_contract.py) holds for every archive; these look at
what only an object store has: no rename, so a run is published by its mark, and a publish
can stop between objects.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, Settings, load_settings
from etl.runtime import Runtime
from etl.state.archive import LocalArchive
from etl.state.blob_archive import BlobArchive, open_archive
from etl.state.ledger.feed_runs import Ledger
from tests.support.masterdata import run_once
from tests.support.s3 import KEY_ID, SECRET, S3Bucket, committed_and_staged

DAY = "2026-12-07"
RUN = f"{DAY}/r1"  # the run's key under the feed


def test_a_publish_that_stopped_before_the_mark_is_no_run_until_recovered(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    archive = open_archive(s3_bucket.settings(prefix="shop-a"), tmp_path / "archive")
    assert isinstance(archive, BlobArchive)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    staged = committed_and_staged(archive, ledger)
    # What a publish that died after its first object leaves: one file up, no mark.
    s3_bucket.put(f"shop-a/archive/products/{RUN}/p.csv", b"Artikelnr;Namn\r\n")

    assert archive.runs("products") == []

    assert archive.recover("products", ledger) == [archive.final(staged)]
    objects = s3_bucket.objects("shop-a/archive/products/")
    assert sorted(objects) == [
        f"shop-a/archive/products/{RUN}.published",
        f"shop-a/archive/products/{RUN}/manifest.json",
        f"shop-a/archive/products/{RUN}/p.csv",
    ]
    mark = json.loads(objects[f"shop-a/archive/products/{RUN}.published"])
    assert mark == {
        "files": {
            "manifest.json": len(objects[f"shop-a/archive/products/{RUN}/manifest.json"]),
            "p.csv": 16,
        }
    }
    assert archive.runs("products") == [archive.final(staged)]
    assert not (tmp_path / "archive" / "products").exists()  # nothing left staged, no empty day
    ledger.close()


def test_a_publish_that_stopped_after_the_mark_is_not_uploaded_again(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    archive = open_archive(s3_bucket.settings(), tmp_path / "archive")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    staged = committed_and_staged(archive, ledger)
    # Published whole (mark last), then the process died before it removed the staged folder;
    # the object below stands for one that a later erasure rewrote: a redo must not undo it.
    s3_bucket.put(f"archive/products/{RUN}/p.csv", b"Artikelnr;Namn\r\n(masked)\r\n")
    s3_bucket.put(f"archive/products/{RUN}.published", b'{"files": {"p.csv": 16}}')

    assert archive.recover("products", ledger) == [archive.final(staged)]

    assert not staged.exists()
    assert s3_bucket.objects(f"archive/products/{RUN}/") == {
        f"archive/products/{RUN}/p.csv": b"Artikelnr;Namn\r\n(masked)\r\n"
    }
    ledger.close()


def test_a_home_with_storage_s3_archives_its_runs_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    secret_file = home / "s3-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    config = home / "etl.toml"
    config.write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\nread_only = true\n'
        f'[storage]\nbackend = "s3"\nbucket = "{s3_bucket.name}"\nprefix = "shop-a"\n'
        f'endpoint_url = "{s3_bucket.endpoint}"\nregion = "eu-north-1"\nretry_seconds = 0\n'
        f'access_key_id_env = "TEST_S3_KEY"\nsecret_access_key_file = "{secret_file}"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, {"TEST_S3_KEY": KEY_ID})

    outcomes = run_once(settings, "products")

    assert [o.outcome for o in outcomes] == ["committed"]
    runs = _archived_runs(settings)
    assert [r.relative_to(home).parts[:2] for r in runs] == [("archive", "products")]
    keys = s3_bucket.listed_keys("shop-a/archive/products/")
    run_key = runs[0].relative_to(home / "archive").as_posix()
    assert f"shop-a/archive/{run_key}.published" in keys
    assert f"shop-a/archive/{run_key}/manifest.json" in keys
    assert not list((home / "archive").rglob("*"))  # nothing of the run stays on this machine


def test_without_storage_settings_the_archive_stays_local(tmp_path: Path) -> None:
    rt = Runtime.open(Settings(home=tmp_path, stores={"erp": LocalStoreSettings(root=tmp_path)}))
    try:
        assert isinstance(rt.archive, LocalArchive)
    finally:
        rt.close()


def _archived_runs(settings: Settings) -> list[Path]:
    rt = Runtime.open(settings)
    try:
        manifests = [rt.archive.read_manifest(run) for run in rt.archive.runs("products")]
        assert [m.outcome for m in manifests] == ["committed"]
        return rt.archive.runs("products")
    finally:
        rt.close()


def test_a_run_that_commits_while_the_store_is_down_stays_committed_and_is_uploaded_later(
    s3_bucket: S3Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The store goes down between the run's commit and its publish. (A store down before the
    # commit fails the run there: its snapshot goes to the bucket before the commit.)
    with socket.socket() as probe:  # a port nobody listens on: the store is down
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    storage = s3_bucket.settings()
    root = tmp_path / "archive"
    archive = open_archive(storage.model_copy(update={"endpoint_url": down}), root)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    staged = committed_and_staged(archive, ledger)

    with caplog.at_level(logging.WARNING, logger="etl.state.blob_archive"):
        assert archive.publish(staged) == archive.final(staged)  # no exception: it committed

    assert "its archive folder is uploaded later" in caplog.text
    assert staged.is_dir() and (staged / "manifest.json").is_file()

    # The store is back: the feed's next run publishes the folder before anything else.
    back = open_archive(storage, root)
    assert back.recover("products", ledger) == [archive.final(staged)]
    assert back.runs("products") == [archive.final(staged)]
    assert back.read_manifest(archive.final(staged)).run_id == "r1"
    assert not (root / "products").exists()
    ledger.close()

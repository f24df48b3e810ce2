"""`run.py trace` with the bucket unreachable says so, instead of "nothing found"."""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import load_settings
from tests.support.masterdata import run_once
from tests.support.ports import free_port
from tests.support.privacy_seed import ANNA_ROW, drop_customers
from tests.support.s3 import KEY_ID, SECRET, S3Bucket


def _config(home: Path, erp_root: Path, bucket: str, endpoint: str) -> Path:
    """`[storage] backend = "s3"` on `bucket` at `endpoint`, the ERP a local folder."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "etl.toml"
    config.write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\nread_only = true\n'
        f'[storage]\nbackend = "s3"\nbucket = "{bucket}"\nprefix = "shop-a"\n'
        f'endpoint_url = "{endpoint}"\nregion = "eu-north-1"\nretry_seconds = 0\n'
        'timeout_seconds = 2\naccess_key_id_env = "TEST_S3_KEY"\n'
        'secret_access_key_env = "TEST_S3_SECRET"\n',
        encoding="utf-8",
    )
    return config


def test_trace_with_the_bucket_down_names_the_bucket_and_says_to_run_it_again(
    s3_bucket: S3Bucket,
    home: Path,
    erp_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_S3_KEY", KEY_ID)
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    shutil.rmtree(erp_root / "customers")  # the samples' export: one run of one file instead
    drop_customers(erp_root, "kunder_20261206.csv", [ANNA_ROW])
    config = _config(home, erp_root, s3_bucket.name, s3_bucket.endpoint)
    [done] = [
        o
        for o in run_once(
            load_settings(config, {"TEST_S3_KEY": KEY_ID, "TEST_S3_SECRET": SECRET}), "customers"
        )
        if o.feed == "customers"
    ]
    assert done.outcome == "committed"
    # The same home a moment later: the bucket's endpoint answers no more (a closed port).
    shutil.rmtree(home / "archive", ignore_errors=True)
    _config(home, erp_root, s3_bucket.name, f"http://127.0.0.1:{free_port()}")

    out = io.StringIO()
    caplog.clear()
    with contextlib.redirect_stdout(out), caplog.at_level(logging.ERROR):
        code = main(["--config", str(config), "trace", "K-1005"])

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    said = "\n".join([out.getvalue(), *errors])
    assert code != 0, said
    assert "nothing found" not in said and "missing or unreadable" not in said, said
    assert f"bucket {s3_bucket.name!r}" in said and "unreachable" in said, said
    assert "run trace again when it is back" in said, said
    assert KEY_ID not in said and SECRET not in said, said

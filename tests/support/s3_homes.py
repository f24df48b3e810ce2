"""Homes whose state is in a test bucket (`[storage] backend = "s3"`), one per machine.

A second home has the first one's settings and ledger but none of its snapshot copies, so
whatever it reads of a snapshot comes from the bucket, as on a machine that never ran the feed.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from etl.cli import main
from etl.config.settings import Settings, load_settings
from tests.support.masterdata import run_once
from tests.support.privacy_seed import drop_customers
from tests.support.s3 import KEY_ID, SECRET, S3Bucket

PREFIX = "shop-a"
KEY_ENV = "TEST_S3_KEY"


def s3_config(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> Path:
    """`[storage] backend = "s3"` on the test's bucket, the ERP a local folder; the file."""
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home.parent / "s3-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    config = home / "etl.toml"
    config.write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\nread_only = true\n'
        f'[storage]\nbackend = "s3"\nbucket = "{s3_bucket.name}"\nprefix = "{PREFIX}"\n'
        f'endpoint_url = "{s3_bucket.endpoint}"\nregion = "eu-north-1"\nretry_seconds = 0\n'
        f'access_key_id_env = "{KEY_ENV}"\nsecret_access_key_file = "{secret_file}"\n',
        encoding="utf-8",
    )
    return config


def s3_settings(home: Path) -> Settings:
    """The settings of a home `s3_config` wrote."""
    return load_settings(home / "etl.toml", {KEY_ENV: KEY_ID})


def customers_run(s3_bucket: S3Bucket, home: Path, erp_root: Path, rows: list[str]) -> str:
    """One committed customers run of `rows` in `home`; returns its id."""
    shutil.rmtree(erp_root / "customers", ignore_errors=True)
    drop_customers(erp_root, f"kunder_{len(rows)}_rows.csv", rows)  # one name per size
    s3_config(s3_bucket, home, erp_root)
    outcomes = run_once(s3_settings(home), "customers")
    [outcome] = [o for o in outcomes if o.feed == "customers"]
    assert outcome.outcome == "committed" and outcome.run_id is not None, outcome
    return outcome.run_id


def second_home(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> Path:
    """Another machine: the same settings and ledger, no archive, snapshot copy or outbox."""
    other = home.parent / "home-2"
    skip = shutil.ignore_patterns("archive", "snapshots", "outbox")
    shutil.copytree(home, other, ignore=skip)
    s3_config(s3_bucket, other, erp_root)
    return other


def run_py(home: Path, *args: str) -> tuple[int, str]:
    """`run.py --config home/etl.toml ARGS` in this process: exit code and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(home / "etl.toml"), *args])
    return code, out.getvalue()

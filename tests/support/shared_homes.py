"""Homes that stand for machines: each its own folder, all sharing a PostgreSQL ledger and a bucket.

`shared_home` writes an etl.toml with `[state] backend = "postgresql"` (the DSN from the
environment) and `[storage] backend = "s3"`, the ERP a local folder every home reads: what
several workers on several machines share. `local_home` is one VM's home as always (SQLite,
local folders), to compare what a shared run produced with what one machine produces.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from etl.config.settings import Settings, load_settings
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.s3 import KEY_ID, SECRET, S3Bucket

SAMPLE = SAMPLES / "products" / "products_20261120.csv"
NEXT = "products_20261121.csv"
PREFIX = "shop-a"  # the bucket's key prefix in these homes
DSN_ENV = "TEST_SHARED_DSN"


def environ(dsn: str) -> dict[str, str]:
    """The environment a shared home's settings read their secrets from."""
    return {DSN_ENV: dsn, "TEST_S3_KEY": KEY_ID, "TEST_S3_SECRET": SECRET}


def shared_home(root: Path, erp: Path, bucket: S3Bucket, dsn: str, pause: float = 0) -> Settings:
    """A machine's home on the shared ledger and bucket; its etl.toml is `root/etl.toml`."""
    _with_contracts(root)
    (root / "etl.toml").write_text(
        f'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = {pause}\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n'
        f'[state]\nbackend = "postgresql"\ndsn_env = "{DSN_ENV}"\n'
        f'[storage]\nbackend = "s3"\nbucket = "{bucket.name}"\nprefix = "{PREFIX}"\n'
        f'endpoint_url = "{bucket.endpoint}"\nregion = "eu-north-1"\nretry_seconds = 0\n'
        'access_key_id_env = "TEST_S3_KEY"\nsecret_access_key_env = "TEST_S3_SECRET"\n',
        encoding="utf-8",
    )
    return load_settings(root / "etl.toml", environ(dsn), root)


def local_home(root: Path, erp: Path) -> Settings:
    """One VM's home: the SQLite ledger and every area in folders under `root`."""
    _with_contracts(root)
    (root / "etl.toml").write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return load_settings(root / "etl.toml", {}, root)


def _with_contracts(root: Path) -> None:
    """The shipped contracts, tuned so tests never wait on readiness."""
    (root / "schemas").mkdir(parents=True)
    for contract in SCHEMAS.glob("*.toml"):
        text = contract.read_text(encoding="utf-8").replace(
            "stable_seconds = 2", "stable_seconds = 0.05"
        )
        (root / "schemas" / contract.name).write_text(text, encoding="utf-8")


def next_export(erp: Path) -> None:
    """The next night's export: one name changed, one article gone, one new."""
    lines = SAMPLE.read_bytes().decode("cp1252").splitlines()
    kept = [line for line in lines if not line.startswith("100201;")]
    changed = [line.replace("Pannlampa 300 lm", "Pannlampa 350 lm") for line in kept]
    added = "100900;BRIGHT;Bright Lights Oy;BL-9000;BL-9000;Lykta;Lykta;LIGHTS;;25;0,90"
    text = "\r\n".join([*changed, added]) + "\r\n"
    (erp / "products" / NEXT).write_bytes(text.encode("cp1252"))


def erp_copy(tmp_path: Path, name: str) -> Path:
    """An ERP folder with the products sample only."""
    root = tmp_path / name
    (root / "products").mkdir(parents=True)
    shutil.copy(SAMPLE, root / "products")
    return root


def outbox_in_bucket(bucket: S3Bucket) -> dict[str, bytes]:
    """The published outbox files in the bucket, by `<feed>/<batch>/<file>`, marks left out."""
    top = f"{PREFIX}/outbox/norce/"
    found = bucket.objects(top)
    return {k.removeprefix(top): v for k, v in found.items() if not k.endswith(".published")}


def outbox_on_disk(home: Path) -> dict[str, bytes]:
    """One machine's `outbox/norce/` files, by `<feed>/<batch>/<file>`."""
    top = home / "outbox" / "norce"
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in top.rglob("*") if p.is_file()}

"""Receivers behind a load balancer: homes on one PostgreSQL ledger and one S3 bucket.

Each home stands for a machine (a folder of its own, nothing shared on disk); all of them
have the same settings: `[state] backend = "postgresql"` (the DSN from the environment),
`[storage] backend = "s3"` (moto's server), the shipped `erp_csv` order layout, and an ERP
folder every home uploads to. `start_receiver_on` runs `run.py receive` in one; `push_to_any`
is Norce behind a load balancer: a push that is not answered OK goes to the next receiver.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.support.paths import REPO, SCHEMAS
from tests.support.s3 import KEY_ID, REGION, SECRET, S3Bucket

PREFIX = "shop-r"  # the bucket's key prefix in these homes
DSN_ENV = "TEST_RECEIVERS_DSN"
PASSWORD = "pw-for-tests"
AUTH = ("norce", PASSWORD)
SAMPLE = REPO / "tests" / "fixtures" / "orders" / "order_1001.json"


def environ(dsn: str) -> dict[str, str]:
    """The environment every home's settings read their secrets from."""
    return {
        **os.environ,
        DSN_ENV: dsn,
        "TEST_RECEIVER_PASSWORD": PASSWORD,
        "TEST_S3_KEY": KEY_ID,
        "TEST_S3_SECRET": SECRET,
    }


def shared_home(root: Path, erp: Path, bucket: S3Bucket, port: int = 0) -> Path:
    """A machine's home on the shared ledger and bucket; returns its settings file."""
    shutil.copytree(SCHEMAS / "orders", root / "schemas" / "orders", dirs_exist_ok=True)
    (root / "schemas" / "orders" / "peppol_order.toml").unlink()  # one layout is enough
    config = root / "etl.toml"
    config.write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n'
        f'[receiver]\nport = {port or 8080}\npassword_env = "TEST_RECEIVER_PASSWORD"\n'
        f'[state]\nbackend = "postgresql"\ndsn_env = "{DSN_ENV}"\n'
        f'[storage]\nbackend = "s3"\nbucket = "{bucket.name}"\nprefix = "{PREFIX}"\n'
        f'endpoint_url = "{bucket.endpoint}"\nregion = "{REGION}"\nretry_seconds = 0\n'
        'access_key_id_env = "TEST_S3_KEY"\nsecret_access_key_env = "TEST_S3_SECRET"\n',
        encoding="utf-8",
    )
    return config


def order_body(ref: str) -> bytes:
    """The sample order 1001 under another ClientOrderRef."""
    order = json.loads(SAMPLE.read_bytes())
    order["ClientOrderRef"] = ref
    return json.dumps(order).encode()


def push_once(port: int, body: bytes) -> bool:
    """One POST as Norce makes it; True only for 200 with StatusCode OK."""
    try:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/orders", content=body, auth=AUTH, timeout=10,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        return answer.status_code == 200 and answer.json().get("StatusCode") == "OK"
    except (httpx.HTTPError, ValueError):
        return False


def push_to_any(ports: Sequence[int], body: bytes, first: int, rounds: int = 20) -> int:
    """Norce behind a load balancer: the port that answered OK (tried from `ports[first]` on)."""
    for attempt in range(rounds * len(ports)):
        port = ports[(first + attempt) % len(ports)]
        if push_once(port, body):
            return port
        time.sleep(0.05)
    raise AssertionError(f"no receiver took the order in {rounds} rounds")

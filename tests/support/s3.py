"""A real S3 API for the tests: moto's server on loopback, a fresh bucket per test.

One `ThreadedMotoServer` on 127.0.0.1 (a free port) serves a whole test session (each xdist
worker starts its own); every test gets a bucket of its own, emptied and removed afterwards.
The buckets are made and looked into with boto3 (which moto brings), the real AWS client,
so a test sees what the product stored without going through the product's seam.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from etl.config.storage_settings import StorageSettings
from etl.state.blob_archive import BlobArchive
from etl.state.ledger.base import Commit
from etl.state.ledger.feed_runs import Ledger
from etl.state.manifest import Manifest

REGION = "eu-north-1"
KEY_ID = "test-key-id"
SECRET = "test-secret-access-key"  # moto takes any credentials


@contextmanager
def run_s3_server() -> Iterator[str]:
    """moto's S3 server on loopback; yields its endpoint URL (http://127.0.0.1:<port>)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Bucket:
    """One test's bucket on the session's server."""

    endpoint: str
    name: str

    def settings(self, prefix: str = "") -> StorageSettings:
        """`[storage] backend = "s3"` for this bucket, as a settings file would resolve it."""
        return StorageSettings(
            backend="s3",
            bucket=self.name,
            prefix=prefix,
            endpoint_url=self.endpoint,
            region=REGION,
            access_key_id=SecretStr(KEY_ID),
            secret_access_key=SecretStr(SECRET),
            retry_seconds=0,  # a failure shows at once in a test
        )

    def listed_keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (full keys), listed with boto3."""
        pages = _client(self.endpoint).get_paginator("list_objects_v2")
        listed = pages.paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in listed for item in page.get("Contents", []))

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """Every object under `prefix` (full keys -> bytes), read with boto3."""
        client = _client(self.endpoint)
        return {
            k: client.get_object(Bucket=self.name, Key=k)["Body"].read()
            for k in self.listed_keys(prefix)
        }

    def put(self, key: str, data: bytes) -> None:
        """An object put behind the product's back (what another writer left)."""
        _client(self.endpoint).put_object(Bucket=self.name, Key=key, Body=data)

    def delete(self, key: str) -> None:
        """An object deleted behind the product's back (a person, a lifecycle rule)."""
        _client(self.endpoint).delete_object(Bucket=self.name, Key=key)


@contextmanager
def fresh_bucket(endpoint: str) -> Iterator[S3Bucket]:
    """A new, empty bucket; removed with whatever it holds when the test is done."""
    bucket = S3Bucket(endpoint, f"test-{uuid.uuid4().hex[:20]}")
    client = _client(endpoint)
    client.create_bucket(
        Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    try:
        yield bucket
    finally:
        for key in bucket.listed_keys():
            client.delete_object(Bucket=bucket.name, Key=key)
        client.delete_bucket(Bucket=bucket.name)


@functools.cache
def _client(endpoint: str) -> Any:
    """One boto3 client per server (making one takes a tenth of a second)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def committed_and_staged(archive: BlobArchive, ledger: Ledger) -> Path:
    """A run of `products` that committed, its folder still staged (its publish never ran)."""
    ledger.start_run("r1", "products", "file", "2026-12-07T10:00:00+00:00", None, None)
    staged = archive.stage("products", "2026-12-07", "r1")
    archive.write_manifest(staged, Manifest.new(run_id="r1", outcome="committed"))
    (staged / "p.csv").write_bytes(b"Artikelnr;Namn\r\n")
    ledger.commit(Commit("r1", "products", "committed", "t", {}, [], "x"))
    return staged

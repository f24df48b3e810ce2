"""What happens to a body on object storage after its export: the purge and `forget`.

As in test_receiver_blob_spool.py, each home is a machine with the same settings (real
PostgreSQL, moto's real S3 server): one receives, one exports, a third purges or erases,
and each finds the bodies in the bucket, none on its own disk.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.config.settings import Settings, load_settings
from etl.privacy.forget import forget
from etl.privacy.person import Request
from etl.retention.bodies import purge_spools
from etl.runtime import Runtime
from etl.state.areas import Areas
from etl.state.blob_spool import open_spool
from etl.state.ledger.postgres import PostgresAt
from etl.state.spool_base import BodyPurged
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.orders.jobs import export_once
from tests.support.receiver_cluster import PREFIX, environ, order_body, shared_home
from tests.support.s3 import S3Bucket

SPOOL = f"{PREFIX}/state/spool/orders/"
EXPORTED = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
EMAIL = b"anna@example.com"  # SellTo's e-mail in the sample order


def _machine(tmp_path: Path, name: str, bucket: S3Bucket, at: PostgresAt) -> Settings:
    erp = tmp_path / "erp"
    erp.mkdir(exist_ok=True)
    config = shared_home(tmp_path / name, erp, bucket)
    settings = load_settings(config, environ(at.dsn), config.parent)
    archive = settings.archive.model_copy(update={"orders_retention_days": 30})
    return settings.model_copy(update={"archive": archive})


@pytest.fixture
def exported(tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket) -> str:
    """Order 770001 received on one machine and exported from another; its spool name."""
    receiver = _machine(tmp_path, "receiver", s3_bucket, shared_ledger)
    inbound = open_inbound(receiver)
    try:
        assert inbound.accept(order_body("770001"), "application/json", "push").status == 200
    finally:
        inbound.book.close()
    worker = _machine(tmp_path, "worker", s3_bucket, shared_ledger)
    rt = Runtime.open(worker, clock=lambda: EXPORTED)
    try:
        assert export_once(rt, load_layouts(worker)["erp_csv"]).files
    finally:
        rt.close()
    book = OrderBook(shared_ledger)
    try:
        row = book.order("770001")
    finally:
        book.close()
    assert row is not None and row.state == "exported"
    return row.spool_name


def test_a_purge_on_a_third_machine_leaves_a_tombstone_object(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket, exported: str
) -> None:
    third = _machine(tmp_path, "third", s3_bucket, shared_ledger)

    kept = purge_spools(third, EXPORTED + dt.timedelta(days=29), dry_run=False)
    purged = purge_spools(third, EXPORTED + dt.timedelta(days=31), dry_run=False)

    assert (kept[0].kept, kept[0].removed) == (1, 0)
    assert (purged[0].kept, purged[0].removed) == (0, 1)
    objects = s3_bucket.objects(SPOOL)
    assert sorted(objects) == [SPOOL + exported + ".purged"]
    assert b'"retention_days": 30' in objects[SPOOL + exported + ".purged"]
    with pytest.raises(BodyPurged, match="only its hash is kept"):
        open_spool(third.storage, Areas(third.home), "orders").read(exported)


def test_forget_on_a_third_machine_masks_the_body_object_whole(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket, exported: str
) -> None:
    third = _machine(tmp_path, "third", s3_bucket, shared_ledger)
    assert EMAIL in s3_bucket.objects(SPOOL)[SPOOL + exported]

    erasure = forget(third, {}, Request("email", EMAIL.decode()), EXPORTED, dry_run=False)

    assert "770001" in erasure.found.orders
    body = s3_bucket.objects(SPOOL)[SPOOL + exported]
    assert EMAIL not in body and b"770001" in body
    assert list(s3_bucket.objects(SPOOL)) == [SPOOL + exported]
    assert not any((tmp_path / "third" / "state").rglob("*.json"))  # the copies are gone

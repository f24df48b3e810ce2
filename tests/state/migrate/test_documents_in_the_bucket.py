"""Documents sent in file mode after the move land in the bucket, not on a worker's disk."""

from __future__ import annotations

from pathlib import Path

from etl.embedded import SAMPLES
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import S3Bucket
from tests.support.vm_home import another_machine, moved, run


def test_documents_sent_in_file_mode_land_in_the_bucket_not_on_the_workers_disk(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    worker = another_machine(vm_home, "worker1")
    sample = (SAMPLES / "delivery_notes" / "despatch_20261124.csv").read_bytes()
    new = sample.replace(b"DN-778", b"DN-990")
    (vm_home / "erp" / "delivery_notes" / "despatch_20261201.csv").write_bytes(new)

    code, out = run(worker, "once", "--feed", "delivery_notes", environ=environ)

    assert code == 0 and "sent 3" in out, out
    keys = s3_bucket.listed_keys("shop1/outbox/norce/delivery_notes/")
    assert any("DN-990" in k for k in keys), (
        keys
    )  # settings.md: the local outbox/norce/ stays empty
    assert [p for p in (worker / "outbox" / "norce").rglob("*") if p.is_file()] == []

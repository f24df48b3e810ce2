"""Unstaged file-mode calls (documents, buyer numbers) on S3: put in the bucket, each once."""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import NorceSettings
from etl.config.storage_settings import StorageSettings
from etl.entities.calls import NorceCall
from etl.norce.base import OrderCall
from etl.norce.bucket_calls import open_bucket_calls
from etl.norce.file_delivery import FileDelivery
from etl.norce.order_calls import FileOrderService
from tests.support.s3 import S3Bucket

NOTE = OrderCall(
    "Order/CreateDeliveryNote", {"ClientOrderRef": 7, "DeliveryNoteNo": "DN-1"}, "DN-1"
)


def _files(outbox: Path) -> list[Path]:
    return [p for p in outbox.rglob("*") if p.is_file()]


def test_a_document_in_doubt_sent_again_is_sent_once_in_the_bucket(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    bucket = open_bucket_calls(s3_bucket.settings("shop1"), outbox)
    service = FileOrderService(outbox, NorceSettings(), bucket)

    first = service.send(NOTE, "delivery_notes")
    again = service.send(NOTE, "delivery_notes")  # the run died before the book said "sent"

    assert (first.outcome, again.outcome) == ("sent", "sent")
    assert first.location == f"s3://{s3_bucket.name}/shop1/outbox/norce/delivery_notes/DN-1.json"
    stored = s3_bucket.objects("shop1/outbox/norce/")
    assert sorted(stored) == [
        "shop1/outbox/norce/delivery_notes/DN-1.json",
        "shop1/outbox/norce/delivery_notes/DN-1.request.json",
    ]
    assert stored["shop1/outbox/norce/delivery_notes/DN-1.json"] == NOTE.body_bytes()
    assert _files(outbox) == []


def test_unstaged_calls_go_to_the_bucket_and_staged_ones_stay_on_disk(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    bucket = open_bucket_calls(s3_bucket.settings(), outbox)
    delivery = FileDelivery(outbox, NorceSettings(), bucket)
    call = NorceCall("Customer/ImportCustomers", {"AccountId": 1}, [{"Code": "C1"}], "0001-c")

    [result] = delivery.deliver([call], "invoices/INV-1")
    delivery.staged(tmp_path / "staged").deliver([call], "products/b1")

    assert result.location.endswith("/outbox/norce/invoices/INV-1/0001-c.json")
    assert s3_bucket.listed_keys() == [
        "outbox/norce/invoices/INV-1/0001-c.json",
        "outbox/norce/invoices/INV-1/0001-c.request.json",
    ]
    assert _files(outbox) == []
    assert len(_files(tmp_path / "staged")) == 2  # published as a batch at commit


def test_local_storage_keeps_writing_the_outbox_folder(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    service = FileOrderService(
        outbox, NorceSettings(), open_bucket_calls(StorageSettings(), outbox)
    )

    service.send(NOTE, "delivery_notes")

    assert sorted(p.name for p in _files(outbox)) == ["DN-1.json", "DN-1.request.json"]

"""The file-mode Norce outbox's contract: every test runs against every implementation.

`outbox/norce/` on the local disk (`NorceOutbox`), and batches published to a blob store by
a create-only mark (`BlobNorceOutbox`) on a local folder and on an S3 bucket (moto's real S3
API on loopback). A run stages its batches, commits, then publishes; what a reader sees is
only what `batches` lists, read with `files`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.norce.file_delivery import BlobNorceOutbox, NorceOutbox
from etl.state.blob_batches import BlobBatches
from etl.state.blobs import Blobs, LocalBlobs, S3Blobs
from etl.state.ledger.base import Commit
from etl.state.ledger.feed_runs import Ledger
from tests.support.s3 import S3Bucket

Outbox = Callable[[str], NorceOutbox]


@pytest.fixture(params=["local", "blobs-local", "s3"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Outbox:
    """Opens the outbox as machine `name` sees it (its own staging; the published place shared)."""
    if request.param == "local":
        return lambda name: NorceOutbox(tmp_path / "home" / "outbox")
    shared: Blobs
    if request.param == "blobs-local":
        shared = LocalBlobs(tmp_path / "shared")
    else:
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        shared = S3Blobs(bucket.settings(prefix="shop-a"), "outbox/norce")
    return lambda name: BlobNorceOutbox(tmp_path / name / "outbox", BlobBatches(shared))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite")


def _stage(box: NorceOutbox, run_id: str, batch: str, files: dict[str, bytes]) -> Path:
    staged = box.stage(run_id)
    (staged / batch).mkdir(parents=True)
    for name, data in files.items():
        (staged / batch / name).write_bytes(data)
    return staged


def _commit(ledger: Ledger, run_id: str) -> None:
    ledger.start_run(run_id, "products", "file", "2026-12-07T10:00:00+00:00", None, None)
    ledger.commit(Commit(run_id, "products", "committed", "t", {}, [], "x"))


CALLS = {"0001-products.json": b'{"items": []}', "0001-products.request.json": b"{}"}


def test_nothing_staged_is_seen_before_the_publish(outbox: Outbox) -> None:
    box = outbox("a")
    _stage(box, "r1", "products/p-1", CALLS)

    assert box.batches("products") == []


def test_a_published_batch_reads_back_whole(outbox: Outbox) -> None:
    box = outbox("a")
    _stage(box, "r1", "products/p-1", CALLS)

    landed = box.publish_run("r1")

    assert landed == [box.root / "products" / "p-1"]
    assert box.batches("products") == ["products/p-1"]
    assert box.files("products/p-1") == CALLS
    assert not (box.staging / ".r1.part").exists()


def test_the_same_input_again_replaces_the_batch(outbox: Outbox) -> None:
    box = outbox("a")
    _stage(box, "r1", "products/p-1", {**CALLS, "0002-products.json": b"[2]"})
    box.publish_run("r1")
    _stage(box, "r2", "products/p-1", {"0001-products.json": b'{"items": [1]}'})

    box.publish_run("r2")

    assert box.files("products/p-1") == {"0001-products.json": b'{"items": [1]}'}


def test_recover_publishes_a_committed_run_and_drops_a_dead_one(
    outbox: Outbox, ledger: Ledger
) -> None:
    box = outbox("a")
    _stage(box, "r1", "products/p-1", CALLS)
    _commit(ledger, "r1")  # its process died before the publish
    _stage(box, "r2", "products/p-2", CALLS)
    ledger.start_run("r2", "products", "file", "t", None, None)
    ledger.fail_run("r2", "t", "interrupted", "died before its commit")

    box.recover("products", ledger)

    assert box.batches("products") == ["products/p-1"]
    assert list(box.staging.iterdir()) == []


def test_another_machine_sees_the_batches_one_published(outbox: Outbox) -> None:
    a, b = outbox("a"), outbox("b")
    if not isinstance(b, BlobNorceOutbox):
        pytest.skip("a local outbox is one machine's folder: nothing to share")
    _stage(a, "r1", "products/p-1", CALLS)
    a.publish_run("r1")

    assert b.batches("products") == ["products/p-1"]
    assert b.files("products/p-1") == CALLS


def test_a_batch_published_again_by_its_run_is_left_as_it_is(outbox: Outbox) -> None:
    box = outbox("a")
    if not isinstance(box, BlobNorceOutbox):
        pytest.skip("a local outbox moves its batch: there is nothing left to publish again")
    staged = _stage(box, "r1", "products/p-1", CALLS)
    batch = staged / "products" / "p-1"

    assert box.store.publish(batch, "products/p-1", "r1") is True
    mark = box.store.blobs.read("products/p-1.published")
    assert box.store.publish(batch, "products/p-1", "r1") is False  # a crash after the mark
    assert box.store.blobs.read("products/p-1.published") == mark


def test_a_half_published_batch_is_not_one(outbox: Outbox) -> None:
    box = outbox("a")
    if not isinstance(box, BlobNorceOutbox):
        pytest.skip("a local outbox moves a batch at once: it is never half there")
    box.store.blobs.put("products/p-1/0001-products.json", b"{")  # files, no mark yet

    assert box.batches("products") == []
    _stage(box, "r1", "products/p-1", CALLS)
    box.publish_run("r1")
    assert box.files("products/p-1") == CALLS

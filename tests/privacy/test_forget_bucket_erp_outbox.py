"""`forget` masks the bucket's ERP outbox copy of a committed file not archived yet, which
the next export on any machine archives; and names the other machines' own copies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.privacy.forget import forget
from etl.privacy.person import Request
from etl.state.ledger.postgres import PostgresAt
from tests.support.clock import NOW
from tests.support.exported_machines import ARCHIVED, LAYOUT, NAME, PREFIX, Machine, two_machines
from tests.support.s3 import S3Bucket
from tests.support.s3_gate import S3Gate

LATER = NOW + dt.timedelta(days=2)
EMAIL = b"anna@example.com"


@pytest.fixture
def machines(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket, gate: S3Gate
) -> Iterator[tuple[Machine, Machine]]:
    with two_machines(tmp_path, shared_ledger, s3_bucket, gate) as both:
        yield both


def test_forget_masks_the_committed_file_waiting_in_the_bucket_outbox(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket, gate: S3Gate
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    first.export(before_commit=lambda _: gate.shut())  # committed; archive put failed
    gate.open()
    waiting = f"{PREFIX}/outbox/erp/{LAYOUT}/{NAME}"
    assert EMAIL in s3_bucket.objects(waiting)[waiting]  # the copy the next run archives

    erasure = forget(second.settings, {}, Request("email", EMAIL.decode()), NOW, dry_run=False)
    assert any("other machines' ERP outboxes" in line for line in erasure.not_erased)

    left = {k: v for k, v in s3_bucket.objects(f"{PREFIX}/").items() if EMAIL in v}
    second.export(at=LATER)  # archives the waiting copy
    archived = s3_bucket.objects(ARCHIVED)[ARCHIVED]
    assert (sorted(left), EMAIL in archived) == ([], False), "buyer left in the bucket after forget"

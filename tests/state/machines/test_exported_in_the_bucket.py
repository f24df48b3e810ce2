"""The order files the ERP got are archived in the bucket with `[storage] backend = "s3"`.

Two machines (homes on their own disks) share the real PostgreSQL ledger, one bucket of moto's
S3 server and the ERP's folder. The archived copy of each exported file lies at
`<prefix>/archive/orders/exported/<layout>/<day>/<name>`, whichever machine committed it, never
on a machine's disk; a bucket that is down after the commit neither fails nor undoes the
export, and the next run on any machine archives the file, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.state.ledger.postgres import PostgresAt
from tests.support.clock import NOW
from tests.support.exported_machines import ARCHIVED, LAYOUT, NAME, PREFIX, Machine, two_machines
from tests.support.s3 import S3Bucket
from tests.support.s3_gate import S3Gate

ARCHIVE = f"{PREFIX}/archive/"
LATER = NOW + dt.timedelta(days=2)  # the next run comes on another day
OUTBOX = f"{PREFIX}/outbox/"


@pytest.fixture
def machines(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket, gate: S3Gate
) -> Iterator[tuple[Machine, Machine]]:
    """A (through the gate) and B, on one ledger, one bucket and one ERP folder."""
    with two_machines(tmp_path, shared_ledger, s3_bucket, gate) as both:
        yield both


def _sent(machine: Machine) -> bytes:
    return (machine.erp / "orders" / "in" / NAME).read_bytes()


def test_an_exported_order_file_is_archived_in_the_bucket_not_on_the_disk(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, _ = machines
    first.receive("order_1001", "order_1002")

    summary = first.export()

    assert (summary.files, summary.error) == ([NAME], None)
    assert s3_bucket.objects(ARCHIVE) == {ARCHIVED: _sent(first)}
    assert first.archived_here() == []
    assert s3_bucket.listed_keys(OUTBOX) == []  # archived, so the outbox copy is let go
    assert not any((first.home / "outbox" / "erp" / LAYOUT).rglob("*.csv"))


def test_a_bucket_down_after_the_commit_keeps_the_export_and_the_next_run_archives_it(
    machines: tuple[Machine, Machine],
    s3_bucket: S3Bucket,
    gate: S3Gate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")

    with caplog.at_level(logging.WARNING, logger="etl.to_erp.files.export"):
        summary = first.export(before_commit=lambda _: gate.shut())

    assert (summary.files, summary.error) == ([NAME], None)  # committed, not failed
    assert [o.state for o in first.book.orders()] == ["exported", "exported"]
    said = [r.getMessage() for r in caplog.records if "written as" not in r.getMessage()]
    assert len(said) == 1 and "1 committed file(s) not archived yet" in said[0], said
    gate.open()
    assert s3_bucket.listed_keys(ARCHIVE) == [] and first.archived_here() == []

    second.export(at=LATER)  # another machine, nothing of A's on its disk, days later

    assert s3_bucket.objects(ARCHIVE) == {ARCHIVED: _sent(first)}  # under the commit's day
    assert s3_bucket.listed_keys(OUTBOX) == []
    first.export(at=LATER)  # A's own copy in sent/ goes; nothing is archived twice
    assert s3_bucket.listed_keys(ARCHIVE) == [ARCHIVED]
    assert first.archived_here() == [] and second.archived_here() == []
    assert not any((first.home / "outbox" / "erp" / LAYOUT).rglob("*.csv"))


def test_an_archive_that_landed_before_its_outbox_copy_went_is_archived_once(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    first.export()
    # A died after the archive's put and before the outbox copy was let go: it is still there.
    s3_bucket.put(f"{OUTBOX}erp/{LAYOUT}/{NAME}", _sent(first))

    second.export(at=LATER)

    assert s3_bucket.objects(ARCHIVE) == {ARCHIVED: _sent(first)}
    assert s3_bucket.listed_keys(OUTBOX) == []


def test_a_committed_file_left_on_a_disk_alone_is_archived_in_the_bucket_under_its_commit_day(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    first, _ = machines
    first.receive("order_1001", "order_1002")
    first.export()
    data = _sent(first)
    # A copy in `sent/` only (a power cut after the commit, before `[storage]` went to "s3"):
    # no outbox object in the bucket says it waits, and the archive does not have it.
    s3_bucket.delete(ARCHIVED)
    left = first.home / "outbox" / "erp" / LAYOUT / "sent" / NAME
    left.write_bytes(data)

    first.export(at=LATER)

    assert s3_bucket.objects(ARCHIVE) == {ARCHIVED: data}
    assert not left.exists() and first.archived_here() == []

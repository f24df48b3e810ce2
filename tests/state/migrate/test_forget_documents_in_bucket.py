"""`forget` and `purge` after the move reach the Norce documents kept in the bucket, marked or not.

Documents sent in file mode are put one by one under `<prefix>/outbox/norce/<feed>/` with no
`.published` mark, and the files `migrate-state` copied have none either: the sweep must look
at every object there, as the disk's `outbox/norce/` is walked whole; the purge dates those
by their last write, as the disk's files by their modification time.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from etl.config.contract_files import load_contracts
from etl.config.settings import load_settings
from etl.embedded import SAMPLES
from etl.retention.place import Place
from etl.retention.purge import purge_all
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import S3Bucket
from tests.support.vm_home import another_machine, moved, run

EMAIL = "anna.andersson@byggmastarna.example"  # customer K-1001's: an anchor, masked anywhere
NAME = b"Anna Andersson"


def _holding(bucket: S3Bucket, value: bytes) -> list[str]:
    """The objects of the Norce outbox in the bucket that hold `value`."""
    return sorted(k for k, b in bucket.objects("shop1/outbox/norce/").items() if value in b)


def test_forget_masks_documents_put_in_the_bucket_and_copied_there(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    # A note the VM sent before the move (copied by migrate-state), one a worker sends after.
    on_vm = vm_home / "outbox" / "norce" / "delivery_notes" / "delivery_note-DN-1.json"
    on_vm.write_text(f'{{"NoteNo": "DN-1", "DeliveryName": "Anna Andersson", "E": "{EMAIL}"}}')
    environ = moved(vm_home, s3_bucket, postgres_at)
    worker = another_machine(vm_home, "worker1")
    notes = (SAMPLES / "delivery_notes" / "despatch_20261124.csv").read_bytes()
    notes = notes.replace(b"DN-778", b"DN-990").replace(b"Storgatan 1", EMAIL.encode())
    (vm_home / "erp" / "delivery_notes" / "despatch_20261201.csv").write_bytes(notes)
    code, out = run(worker, "once", "--feed", "delivery_notes", environ=environ)
    assert code == 0 and "sent 3" in out, out
    held = _holding(s3_bucket, EMAIL.encode())
    documents = [k for k in held if "/delivery_notes/" in k]
    assert [k.rsplit("/", 1)[1] for k in documents] == [on_vm.name, "delivery_note-DN-990899.json"]

    code, dry = run(worker, "forget", "--email", EMAIL, "--dry-run", environ=environ)
    assert code == 0 and f"in {len(held)} file(s)" in dry, dry
    assert _holding(s3_bucket, EMAIL.encode()) == held  # a dry run changes nothing

    code, out = run(worker, "forget", "--email", EMAIL, environ=environ)

    assert code == 0 and f"in {len(held)} file(s)" in out, out
    assert _holding(s3_bucket, EMAIL.encode()) == [], out
    assert not set(documents) & set(_holding(s3_bucket, NAME))  # their record: all masked
    # The VM's notes with no anchor of the person keep the shared values, as on the disk.
    assert "shop1/outbox/norce/delivery_notes/delivery_note-DN-778899.json" in _holding(
        s3_bucket, NAME
    )


def test_purge_removes_documents_in_the_bucket_past_retention_by_their_last_write(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    environ = moved(vm_home, s3_bucket, postgres_at)
    folder = "shop1/outbox/norce/delivery_notes/"
    held = s3_bucket.listed_keys(folder)
    assert held and not any(k.endswith(".published") for k in held), held
    worker = another_machine(
        vm_home, "worker1"
    )  # no outbox of its own: only the bucket's is purged
    settings = load_settings(worker / "etl.toml", environ, worker)
    days = 30  # the sample contract keeps documents for ever: this home's keeps them 30 days
    notes = load_contracts(settings)["delivery_notes"]
    archive = notes.archive.model_copy(update={"retention_days": days})
    contracts = {"delivery_notes": notes.model_copy(update={"archive": archive})}
    now = dt.datetime.now(dt.UTC)

    young = _place(purge_all(settings, contracts, now, dry_run=False).places)
    later = now + dt.timedelta(days=days + 1)
    would = _place(purge_all(settings, contracts, later, dry_run=True).places)
    assert s3_bucket.listed_keys(folder) == held  # a dry run changes nothing
    done = _place(purge_all(settings, contracts, later, dry_run=False).places)

    assert (young.removed, young.kept) == (0, len(held))
    assert (would.removed, would.kept) == (done.removed, done.kept) == (len(held), 0)
    assert s3_bucket.listed_keys(folder) == [folder + "manifest.json"]
    record = json.loads(s3_bucket.objects(folder + "manifest.json")[folder + "manifest.json"])
    assert sorted(e["name"] for e in record["purged"]) == [k[len(folder) :] for k in held]


def _place(places: list[Place]) -> Place:
    """The purge's place of the delivery notes' Norce outbox."""
    found = [p for p in places if p.name == "outbox/norce/delivery_notes"]
    assert len(found) == 1, [p.name for p in places]
    return found[0]

"""Refused bodies on object storage: refused by a receiver on one machine, seen and handled on any.

Each home stands for a machine with the same settings (the ledger on the session's real
PostgreSQL, `[storage] backend = "s3"` on moto's real S3 server). What one receiver refused,
another machine lists (`orders --state refused`, `status`, the console), retakes (booked
once), purges and erases; nothing of it is on the refusing machine's disk.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx

from etl.config.settings import Settings, load_settings
from etl.console.order_problems import order_problems
from etl.privacy.forget import forget
from etl.privacy.person import Request
from etl.retention.purge import purge_all
from etl.state.areas import Areas
from etl.state.atomic import write_atomically
from etl.state.ledger.postgres import PostgresAt
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.parties.events import open_party_inbound
from tests.support.ports import free_port
from tests.support.receiver import bound_socket, serving
from tests.support.receiver_cluster import AUTH, PREFIX, environ, order_body, shared_home
from tests.support.s3 import S3Bucket
from tests.support.vm_home import another_machine, moved, run, vm_toml

REJECTED = f"{PREFIX}/archive/orders/rejected/"
RETAKEN = f"{PREFIX}/archive/orders/retaken/"
PARTIES = f"{PREFIX}/archive/parties/rejected/"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
EMAIL = b"anna@example.com"
BROKEN = b'{"ClientOrderRef": "990001", "SellTo": {"Email": "anna@example.com"}, "Items": ['
EVENT = "CustomerChangedNotification"


def _machine(tmp_path: Path, name: str, bucket: S3Bucket, at: PostgresAt) -> Settings:
    erp = tmp_path / "erp"
    erp.mkdir(exist_ok=True)
    config = shared_home(tmp_path / name, erp, bucket)
    return load_settings(config, environ(at.dsn), config.parent)


def _refuse(settings: Settings, body: bytes, at: dt.datetime = NOW) -> int:
    """One body through the order inbound of `settings` at `at`; the answer's status."""
    inbound = open_inbound(settings)
    inbound.clock = lambda: at
    try:
        return inbound.accept(body, "application/json", "push").status
    finally:
        inbound.book.close()


def _refuse_event(settings: Settings, body: bytes, at: dt.datetime) -> int:
    inbound = open_party_inbound(settings)
    inbound.clock = lambda: at
    try:
        return inbound.accept(EVENT, body).status
    finally:
        inbound.book.close()


def _cli(settings: Settings, at: PostgresAt, *args: str) -> tuple[int, str]:
    return run(settings.home, *args, environ=environ(at.dsn))


def test_a_body_refused_on_one_machine_is_listed_on_another_and_kept_only_in_the_bucket(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)

    assert _refuse(a, BROKEN) == 400

    [name] = [k.removeprefix(REJECTED) for k in s3_bucket.listed_keys(REJECTED)][:1]
    objects = s3_bucket.objects(REJECTED)
    assert sorted(objects) == [REJECTED + name, REJECTED + name + ".reason.txt"]
    assert (
        objects[REJECTED + name] == BROKEN and b"JSON" in objects[REJECTED + name + ".reason.txt"]
    )
    assert not list((tmp_path / "a" / "archive").rglob("*.json"))  # nothing on A's disk

    code, out = _cli(b, shared_ledger, "orders", "--state", "refused", "--json")
    listed = json.loads(out)
    assert code == 0 and [r["name"] for r in listed["refused_bodies"]] == [name], out
    assert listed["refused_bodies"][0]["refused_at"] == "2026-12-07T10:00:00Z"
    _, status = _cli(b, shared_ledger, "status", "--json")
    assert [r["name"] for r in json.loads(status)["refused_bodies"]] == [name]
    _, text = _cli(b, shared_ledger, "status")
    assert "Refused order bodies: 1" in text and name in text
    problems = order_problems(shared_ledger, Areas(b.home), b.storage)
    assert [p.subject for p in problems if p.kind == "order_refused"] == [f"order body {name}"]


def test_a_body_refused_on_home_a_is_retaken_from_home_b_and_booked_once(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)
    # What an older receiver on A refused and the current code reads: its copy and reason.
    name = "20261207T100000Z-0123456789abcdef.json"
    s3_bucket.put(REJECTED + name, order_body("990002"))
    s3_bucket.put(REJECTED + name + ".reason.txt", b"not a valid OrderRequest: Fees: null\n")

    code, out = _cli(b, shared_ledger, "retake", name)
    assert code == 0 and "990002" in out and "taken" in out, out

    assert sorted(s3_bucket.listed_keys(RETAKEN)) == [
        RETAKEN + name,
        RETAKEN + name + ".reason.txt",
    ]
    assert s3_bucket.listed_keys(REJECTED) == []
    code, again = _cli(a, shared_ledger, "retake", "--all")
    assert code == 0 and "no refused order bodies" in again
    assert _cli(a, shared_ledger, "retake", name)[0] == 1  # not a refused body any more
    book = OrderBook(shared_ledger)
    try:
        row = book.order("990002")
        assert row is not None and (row.source, book.count()) == ("retake", 1)
    finally:
        book.close()


def test_the_same_body_refused_by_two_receivers_in_one_second_is_one_object(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)

    assert (_refuse(a, BROKEN), _refuse(b, BROKEN)) == (400, 400)

    assert len(s3_bucket.listed_keys(REJECTED)) == 2  # one body, one reason


def test_an_event_refused_again_by_another_receiver_finds_the_first_copy(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)
    body = b'{"Name": "no id here"}'

    assert _refuse_event(a, body, NOW) == 400
    assert _refuse_event(b, body, NOW + dt.timedelta(hours=3)) == 400  # Norce retries for hours

    keys = s3_bucket.listed_keys(PARTIES)
    assert len(keys) == 2 and keys[0].startswith(PARTIES + "20261207T100000Z-"), keys


def test_a_bucket_out_of_reach_answers_a_refused_body_503_as_a_spool_outage(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    up = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    storage = up.storage.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    down = up.model_copy(update={"storage": storage})
    sock = bound_socket()
    with serving(down, sock):
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/orders"
        answer = httpx.post(url, content=BROKEN, auth=AUTH, timeout=30)

    assert (answer.status_code, answer.json()["StatusCode"]) == (503, "Failed")
    assert not (tmp_path / "a" / "archive").exists()  # not kept on the disk instead


def test_purge_on_any_machine_ages_refused_and_retaken_bodies_out_of_the_bucket(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)
    archive = b.archive.model_copy(update={"orders_retention_days": 30})
    b = b.model_copy(update={"archive": archive})
    old, young = NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=5)
    assert _refuse(a, BROKEN, old) == 400
    assert _refuse(a, BROKEN + b" ", young) == 400
    assert _refuse_event(a, b"[]", old) == 400
    retaken = "20261001T000000Z-0123456789abcdef.json"
    s3_bucket.put(RETAKEN + retaken, order_body("990003"))

    purged = purge_all(b, {}, NOW)

    left = s3_bucket.listed_keys(f"{PREFIX}/archive/")
    bodies = [k for k in left if not k.endswith("manifest.json")]
    assert [k.removeprefix(REJECTED)[:16] for k in bodies] == ["20261202T100000Z"] * 2, left
    manifest = json.loads(s3_bucket.objects(REJECTED + "manifest.json")[REJECTED + "manifest.json"])
    assert [e["name"][:16] for e in manifest["purged"]] == ["20261028T100000Z"] * 2
    assert RETAKEN + "manifest.json" in left and PARTIES + "manifest.json" in left
    assert sum(s.folders for s in purged.archive if s.area.endswith(("rejected", "retaken"))) == 3


def test_forget_on_any_machine_masks_the_person_in_refused_bodies_in_the_bucket(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    b = _machine(tmp_path, "b", s3_bucket, shared_ledger)
    assert _refuse(a, BROKEN) == 400
    [key] = [k for k in s3_bucket.listed_keys(REJECTED) if k.endswith(".json")]

    erasure = forget(b, {}, Request("email", EMAIL.decode()), NOW, dry_run=False)

    body = s3_bucket.objects(key)[key]
    assert EMAIL not in body and b"990001" in body, body
    assert any(p.name == "archive/orders" and p.files == 1 for p in erasure.places)
    assert not any((tmp_path / "b").rglob("*.reason.txt"))  # the copies are gone


def test_migrate_state_moves_refused_and_retaken_bodies_and_any_machine_lists_them(
    tmp_path: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    vm = tmp_path / "vm"
    vm.mkdir()
    vm_toml(vm)
    refused = "20261201T080000Z-0123456789abcdef.json"
    kept = {
        f"orders/rejected/{refused}": BROKEN,
        f"orders/rejected/{refused}.reason.txt": b"not JSON\n",
        "orders/retaken/20261130T080000Z-fedcba9876543210.json": order_body("990004"),
        "parties/rejected/20261130T090000Z-0011223344556677.json": b"[]",
    }
    for name, data in kept.items():
        write_atomically(vm / "archive" / name, data)

    env = moved(vm, s3_bucket, postgres_at)

    assert s3_bucket.objects("shop1/archive/") == {f"shop1/archive/{k}": v for k, v in kept.items()}
    worker = another_machine(vm, "worker")
    code, out = run(worker, "orders", "--state", "refused", "--json", environ=env)
    assert code == 0 and [r["name"] for r in json.loads(out)["refused_bodies"]] == [refused]
    assert json.loads(out)["refused_bodies"][0]["reason"] == "not JSON"


def test_a_bucket_out_of_reach_is_one_problem_not_a_failed_status(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> None:
    a = _machine(tmp_path, "a", s3_bucket, shared_ledger)
    down = a.storage.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})

    [problem] = order_problems(shared_ledger, Areas(a.home), down)

    assert (problem.kind, problem.subject) == ("order_refused", "refused order bodies")
    assert "could not be listed" in problem.what

"""The spool contract (etl.state.spool_base.BodySpool): every test runs against every backend.

The local folder (the default) and objects in an S3 bucket (moto's real S3 API on loopback),
each as `open_spool` opens it from `[storage]`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config.storage_settings import StorageSettings
from etl.state.areas import Areas
from etl.state.blob_spool import BlobSpool, open_spool
from etl.state.spool import Spool
from etl.state.spool_base import BodyPurged, BodySpool, spool_name
from tests.support.s3 import S3Bucket

BODY = b'{"ClientOrderRef": "R1", "CurrencyCode": "SEK"}'
OTHER = b'{"ClientOrderRef": "R1", "CurrencyCode": "EUR"}'

SpoolMaker = Callable[[], BodySpool]


@pytest.fixture(params=["local", "s3"])
def new_spool(request: pytest.FixtureRequest, tmp_path: Path) -> SpoolMaker:
    """Opens the order spool of one home (each call another instance, as another process)."""
    areas = Areas(tmp_path / "home")
    if request.param == "local":
        return lambda: open_spool(StorageSettings(), areas, "orders")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return lambda: open_spool(bucket.settings(prefix="shop-a"), areas, "orders")


def test_open_spool_picks_the_backend_of_storage(new_spool: SpoolMaker) -> None:
    assert isinstance(new_spool(), Spool | BlobSpool)


def test_a_body_put_reads_back_under_its_name(new_spool: SpoolMaker) -> None:
    spool = new_spool()
    spooled = spool.put("R1", BODY, "json")

    assert spooled.name == spool_name("R1", hashlib.sha256(BODY).hexdigest(), "json")
    assert (spooled.sha256, spooled.kind) == (hashlib.sha256(BODY).hexdigest(), "json")
    assert new_spool().read(spooled.name) == BODY
    assert new_spool().exists(spooled.name)
    assert new_spool().names() == [spooled.name]


def test_the_same_body_again_is_the_same_name_and_one_body(new_spool: SpoolMaker) -> None:
    first = new_spool().put("R1", BODY, "json")
    again = new_spool().put("R1", BODY, "json")

    assert again == first or (again.name, again.sha256) == (first.name, first.sha256)
    assert new_spool().names() == [first.name]


def test_another_body_under_the_same_ref_is_kept_beside_the_first(new_spool: SpoolMaker) -> None:
    first = new_spool().put("R1", BODY, "json")
    second = new_spool().put("R1", OTHER, "json")

    assert first.name != second.name
    assert new_spool().names() == sorted([first.name, second.name])
    assert new_spool().read(second.name) == OTHER


def test_two_writers_of_one_body_at_once_both_succeed(new_spool: SpoolMaker) -> None:
    spools = [new_spool() for _ in range(8)]
    barrier = threading.Barrier(len(spools))
    names: list[str] = []

    def put(spool: BodySpool) -> None:
        barrier.wait()
        names.append(spool.put("R1", BODY, "json").name)

    threads = [threading.Thread(target=put, args=(s,)) for s in spools]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(names) == 8 and len(set(names)) == 1
    assert new_spool().names() == names[:1]
    assert new_spool().read(names[0]) == BODY


def test_a_missing_body_is_file_not_found_not_purged(new_spool: SpoolMaker) -> None:
    spool = new_spool()
    with pytest.raises(FileNotFoundError) as raised:
        spool.read("R9-0000000000000000.json")

    assert not isinstance(raised.value, BodyPurged)
    assert not spool.exists("R9-0000000000000000.json")
    assert spool.purged("R9-0000000000000000.json") is None


def test_a_purged_body_leaves_a_tombstone_with_its_hash(new_spool: SpoolMaker) -> None:
    name = new_spool().put("R1", BODY, "xml").name

    removed = new_spool().remove_body(name, "2026-12-07T10:00:00+00:00", 90)

    spool = new_spool()
    assert removed == len(BODY)
    assert spool.purged(name) == {
        "name": name,
        "sha256": hashlib.sha256(BODY).hexdigest(),
        "size": len(BODY),
        "purged_at": "2026-12-07T10:00:00+00:00",
        "retention_days": 90,
    }
    with pytest.raises(BodyPurged, match=r"removed by `run\.py purge` on 2026-12-07"):
        spool.read(name)
    assert not spool.exists(name)
    assert spool.names() == []  # recovery walks bodies, never tombstones
    assert spool.remove_body(name, "2026-12-08T10:00:00+00:00", 90) == 0


def test_replace_puts_the_masked_body_over_the_old_whole(new_spool: SpoolMaker) -> None:
    name = new_spool().put("R1", BODY, "json").name
    masked = json.dumps({"ClientOrderRef": "R1", "CurrencyCode": "***"}).encode()

    new_spool().replace(name, masked)

    assert new_spool().read(name) == masked
    assert new_spool().names() == [name]


@pytest.mark.parametrize("name", ["../x.json", "a/b.json", ".hidden.json", "", "a\\b.json"])
def test_a_name_that_is_a_path_is_refused(new_spool: SpoolMaker, name: str) -> None:
    with pytest.raises(ValueError, match="not a spool file name"):
        new_spool().read(name)

"""The Blobs contract (etl.state.blobs.base.Blobs): every test runs against every implementation.

A local folder and an S3 bucket (moto's real S3 API on loopback). A third store plugs in as
another parameter of the `blobs` fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.state.blobs import (
    Blob,
    BlobExists,
    BlobNotFound,
    Blobs,
    Listing,
    LocalBlobs,
    S3Blobs,
)
from tests.support.s3 import S3Bucket

KEYS_PEOPLE_WRITE = [
    "products/2026-12-07/r1/Artikel lista.csv",  # a space
    "kunder/2026-12-07/r1/Försäljning åäö.csv",  # non-ASCII
    "日本/ファイル.xml",
    "odd/a%b#c[1]+d&e=f;g.txt",  # what URL encoding must carry through
]


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Blobs:
    """An empty store of each kind in turn."""
    if request.param == "local":
        return LocalBlobs(tmp_path / "blobs")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return S3Blobs(bucket.settings(prefix="shop-a"), "archive")


# -- put, read, stat ------------------------------------------------------------------------


def test_what_is_put_reads_back_whole(blobs: Blobs) -> None:
    blobs.put("products/r1/manifest.json", b'{"run_id": "r1"}')

    assert blobs.read("products/r1/manifest.json") == b'{"run_id": "r1"}'
    assert blobs.stat("products/r1/manifest.json") == Blob("products/r1/manifest.json", 16)


def test_a_put_replaces_what_was_there(blobs: Blobs) -> None:
    blobs.put("k/v", b"old")
    blobs.put("k/v", b"new, longer")

    assert blobs.read("k/v") == b"new, longer"


def test_an_empty_object_is_an_object(blobs: Blobs) -> None:
    blobs.put("k/empty", b"")

    assert blobs.read("k/empty") == b""
    assert blobs.stat("k/empty") == Blob("k/empty", 0)


def test_a_file_is_put_as_it_is_even_when_large(blobs: Blobs, tmp_path: Path) -> None:
    # Past 5 MiB the S3 store uploads in parts; the object must still be the file, whole.
    source = tmp_path / "big.csv"
    source.write_bytes(bytes(range(256)) * (6 * 1024 * 1024 // 256 + 7))

    blobs.put_file("in/big.csv", source)

    assert blobs.read("in/big.csv") == source.read_bytes()
    assert blobs.stat("in/big.csv") == Blob("in/big.csv", source.stat().st_size)


def test_an_object_is_got_into_a_file_whole(blobs: Blobs, tmp_path: Path) -> None:
    data = bytes(range(256)) * (6 * 1024 * 1024 // 256 + 7)  # more than one piece
    blobs.put("state/big.parquet", data)
    target = tmp_path / "copy" / "big.parquet"

    assert blobs.get_file("state/big.parquet", target) == len(data)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["big.parquet"]  # no temp left


def test_getting_a_missing_object_leaves_no_file(blobs: Blobs, tmp_path: Path) -> None:
    target = tmp_path / "copy" / "gone.parquet"

    with pytest.raises(BlobNotFound):
        blobs.get_file("state/gone.parquet", target)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


# -- create-only: the key is taken once ------------------------------------------------------


def test_a_second_create_only_put_is_refused_and_changes_nothing(blobs: Blobs) -> None:
    blobs.put("runs/r1.published", b"first", create_only=True)

    with pytest.raises(BlobExists, match=r"r1\.published"):
        blobs.put("runs/r1.published", b"second", create_only=True)

    assert blobs.read("runs/r1.published") == b"first"


def test_create_only_refuses_a_key_an_ordinary_put_took(blobs: Blobs, tmp_path: Path) -> None:
    blobs.put("runs/r1.published", b"first")
    source = tmp_path / "mark"
    source.write_bytes(b"second")

    with pytest.raises(BlobExists):
        blobs.put_file("runs/r1.published", source, create_only=True)

    assert blobs.read("runs/r1.published") == b"first"


def test_of_writers_racing_to_create_one_key_exactly_one_wins(blobs: Blobs) -> None:
    writers = 6
    start = threading.Barrier(writers)
    won: list[int] = []
    refused: list[int] = []

    def create(n: int) -> None:
        start.wait()
        try:
            blobs.put("orders/o-1.uploaded", f"writer {n}".encode(), create_only=True)
            won.append(n)
        except BlobExists:
            refused.append(n)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1 and len(refused) == writers - 1
    assert blobs.read("orders/o-1.uploaded") == f"writer {won[0]}".encode()


# -- list -----------------------------------------------------------------------------------


def test_a_listing_shows_one_level_sorted(blobs: Blobs) -> None:
    for key in ["f/2026-12-08/b.published", "f/2026-12-07/r/manifest.json", "f/a.txt", "g/x"]:
        blobs.put(key, b"1")
    blobs.put("f/2026-12-07/a.published", b"22")

    assert blobs.list("f") == Listing([Blob("f/a.txt", 1)], ["2026-12-07", "2026-12-08"])
    assert blobs.list("f/2026-12-07") == Listing([Blob("f/2026-12-07/a.published", 2)], ["r"])
    assert blobs.list("") == Listing([], ["f", "g"])


def test_an_absent_prefix_lists_empty(blobs: Blobs) -> None:
    blobs.put("f/a.txt", b"1")

    assert blobs.list("nothing/here") == Listing()
    assert blobs.list("f/a") == Listing()  # a prefix is a whole part, not the start of a name


def test_keys_people_write_list_and_read_back_as_given(blobs: Blobs) -> None:
    for n, key in enumerate(KEYS_PEOPLE_WRITE):
        blobs.put(key, f"object {n}".encode())

    for n, key in enumerate(KEYS_PEOPLE_WRITE):
        folder = key.rpartition("/")[0]
        assert blobs.list(folder).blobs == [Blob(key, len(f"object {n}"))], key
        assert blobs.read(key) == f"object {n}".encode()
    assert blobs.list("") == Listing([], sorted(k.split("/")[0] for k in KEYS_PEOPLE_WRITE))


# -- missing objects and delete -------------------------------------------------------------


def test_reading_a_missing_object_raises_our_error(blobs: Blobs) -> None:
    blobs.put("f/there", b"1")

    with pytest.raises(BlobNotFound, match="f/missing"):
        blobs.read("f/missing")
    with pytest.raises(BlobNotFound):
        blobs.read("f")  # a prefix is no object
    assert blobs.stat("f/missing") is None
    assert blobs.stat("f") is None


def test_a_deleted_object_is_gone_and_so_is_its_emptied_folder(blobs: Blobs) -> None:
    blobs.put("f/d/only", b"1")
    blobs.put("f/kept", b"2")

    blobs.delete("f/d/only")

    assert blobs.stat("f/d/only") is None
    assert blobs.list("f") == Listing([Blob("f/kept", 1)], [])
    blobs.delete("f/d/only")  # twice is once
    blobs.delete("never/was")


# -- keys -----------------------------------------------------------------------------------

BAD_KEYS = ["", "/abs", "trailing/", "a//b", "../up", "a/./b", "a/.hidden", "a\\b", "nul\x00"]
BAD_KEYS += ["x" * 256, "a/" * 600]  # a part over 255 bytes, a key over 1024


def test_a_key_no_store_can_hold_as_given_is_refused(blobs: Blobs) -> None:
    for key in BAD_KEYS:
        calls: list[Callable[[], object]] = [
            lambda: blobs.put(key, b"1"),  # noqa: B023 (called at once, in this iteration)
            lambda: blobs.read(key),  # noqa: B023
            lambda: blobs.stat(key),  # noqa: B023
            lambda: blobs.delete(key),  # noqa: B023
        ]
        for call in calls:
            with pytest.raises(ValueError, match="object key"):
                call()
    assert blobs.list("") == Listing()

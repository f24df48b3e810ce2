"""The snapshot store's contract: every test runs against every implementation.

A local folder (`SnapshotStore`, one machine), and snapshots shared through a blob store
(`BlobSnapshotStore`) on a local folder and on an S3 bucket (moto's real S3 API on
loopback). Each test with two "machines" opens two stores on two local folders sharing one
blob store and one ledger; a lone local store has no second machine, and skips saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.models import INACTIVE, STATE
from etl.state.blob_snapshots import BlobSnapshotStore, SnapshotMissing
from etl.state.blobs import Blobs, LocalBlobs, S3Blobs, StorageError
from etl.state.ledger.base import Commit
from etl.state.ledger.feed_runs import Ledger
from etl.state.snapshots import SnapshotStore
from tests.support.frames import PRODUCT, product, snapshot
from tests.support.s3 import S3Bucket

FIELDS = PRODUCT.fields()
Machine = Callable[[str], SnapshotStore]
ONE_MACHINE = "a local snapshot store is one machine's folder: nothing to share"


@pytest.fixture(params=["local", "blobs-local", "s3"])
def machine(request: pytest.FixtureRequest, tmp_path: Path) -> Machine:
    """Opens the store as machine `name` sees it (its own folder; the shared parts shared)."""
    at = tmp_path / "ledger.sqlite"
    if request.param == "local":
        return lambda name: SnapshotStore(tmp_path / "home" / "state" / "snapshots")
    shared: Blobs
    if request.param == "blobs-local":
        shared = LocalBlobs(tmp_path / "shared")
    else:
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        shared = S3Blobs(bucket.settings(prefix="shop-a"), "state/snapshots")
    return lambda name: BlobSnapshotStore(tmp_path / name / "state" / "snapshots", shared, at)


def _shared(store: SnapshotStore) -> BlobSnapshotStore:
    if not isinstance(store, BlobSnapshotStore):
        pytest.skip(ONE_MACHINE)
    return store


def _frame(n: int = 20, name: str = "Glove") -> pl.DataFrame:
    return snapshot(PRODUCT, [product(f"P{i:03d}", f"{name} {i}") for i in range(n)])


def _ledger(store: SnapshotStore, tmp_path: Path) -> Ledger:
    at = store.ledger if isinstance(store, BlobSnapshotStore) else tmp_path / "ledger.sqlite"
    return Ledger(at)


# -- one machine ----------------------------------------------------------------------------


def test_a_written_snapshot_reads_and_scans_back(machine: Machine) -> None:
    store = machine("a")
    relative = store.write("products", "run-1", _frame())

    assert relative == "products/run-1.parquet"
    assert_frame_equal(store.read(relative, FIELDS), _frame())
    assert_frame_equal(store.scan(relative, FIELDS).collect(), _frame())


def test_no_snapshot_reads_as_an_empty_one(machine: Machine) -> None:
    store = machine("a")
    assert store.read(None, FIELDS).height == 0
    assert store.scan(None, FIELDS).collect().columns == [*FIELDS, STATE]


def test_a_sweep_keeps_what_a_commit_points_at(machine: Machine) -> None:
    store = machine("a")
    old = store.write("products", "run-1", _frame())
    new = store.write("products", "run-2", _frame(5))

    gone = store.sweep("products", {new})

    assert gone == [old]
    assert_frame_equal(store.read(new, FIELDS), _frame(5))
    assert not (store.root / old).exists()
    if isinstance(store, BlobSnapshotStore):  # and no machine can fetch it any more
        assert store.blobs.stat(old) is None


def test_a_replaced_snapshot_reads_as_replaced(machine: Machine) -> None:
    store = machine("a")
    relative = store.write("customers", "run-1", _frame())
    reduced = _frame().with_columns(pl.lit(None, pl.String).alias("name"))

    store.replace(relative, reduced)

    assert_frame_equal(store.read(relative, FIELDS), reduced)


# -- two machines ---------------------------------------------------------------------------


def test_another_machine_reads_the_snapshot_one_wrote(machine: Machine) -> None:
    a, b = machine("a"), _shared(machine("b"))
    relative = a.write("products", "run-1", _frame())
    assert not (b.root / relative).exists()

    assert_frame_equal(b.scan(relative, FIELDS).collect(), _frame())
    assert (b.root / relative).stat().st_size == (a.root / relative).stat().st_size


def test_a_local_copy_unlike_the_stored_one_is_fetched_again(machine: Machine) -> None:
    a, b = machine("a"), _shared(machine("b"))
    relative = a.write("products", "run-1", _frame())
    (b.root / "products").mkdir(parents=True)
    (b.root / relative).write_bytes(b"half a parquet file")

    assert_frame_equal(b.read(relative, FIELDS), _frame())


def test_a_newer_snapshot_fetched_replaces_the_older_copy(machine: Machine) -> None:
    a, b = machine("a"), _shared(machine("b"))
    first = a.write("companies", "20261207T100000000-companies-1", _frame())
    b.read(first, FIELDS)  # b reads companies (its references) but never commits them
    second = a.write("companies", "20261207T110000000-companies-2", _frame(5))

    assert_frame_equal(b.read(second, FIELDS), _frame(5))
    copies = [p.name for p in (b.root / "companies").iterdir() if not p.name.startswith(".")]
    assert copies == [second.split("/")[1]]  # (a hidden `.<name>.etag` is the copy's tag)


def test_a_purge_on_one_machine_reaches_the_others_copies(machine: Machine) -> None:
    a, b = machine("a"), _shared(machine("b"))
    relative = a.write("customers", "run-1", _frame(name="Anna Andersson"))
    b.read(relative, FIELDS)  # b has its copy
    gone = _frame().with_columns(
        pl.lit(None, pl.String).alias("name"), pl.lit(INACTIVE).alias(STATE)
    )

    a.replace(relative, gone)

    assert_frame_equal(b.read(relative, FIELDS), gone)


def test_a_snapshot_the_store_lacks_is_refused_not_read_as_empty(machine: Machine) -> None:
    a = _shared(machine("a"))
    relative = a.write("products", "run-1", _frame())
    a.blobs.delete(relative)

    with pytest.raises(SnapshotMissing, match="not in object storage"):
        a.scan(relative, FIELDS)


def test_a_name_taken_by_other_content_fails_the_write(machine: Machine) -> None:
    a, b = machine("a"), _shared(machine("b"))
    b.blobs.put("products/run-1.parquet", b"someone else's object", create_only=True)

    with pytest.raises(StorageError, match="other content"):
        a.write("products", "run-1", _frame())


def test_a_sweep_leaves_the_candidate_of_a_run_still_going(
    machine: Machine, tmp_path: Path
) -> None:
    a, b = _shared(machine("a")), machine("b")
    ledger = _ledger(a, tmp_path)
    for run in ("run-1", "run-2", "run-3"):
        ledger.start_run(run, "products", "file", f"2026-12-07T10:0{run[-1]}:00+00:00", None, None)
    current = a.write("products", "run-1", _frame())
    ledger.commit(
        Commit("run-1", "products", "committed", "t", {}, [], "x", snapshot=(current, 20))
    )
    dead = a.write("products", "run-2", _frame(3))  # its worker died before the commit
    ledger.fail_run("run-2", "t", "interrupted", "the process died")
    going = b.write("products", "run-3", _frame(4))  # another machine, about to commit

    gone = a.sweep("products", ledger.snapshot_paths("products"))
    ledger.close()

    assert dead in gone and going not in gone
    assert a.blobs.stat(dead) is None
    assert a.blobs.stat(going) is not None and a.blobs.stat(current) is not None

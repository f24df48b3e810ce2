"""The Archive contract (etl.state.base.Archive): every test here runs against every implementation.

The local folder archive, and the archive on a blob store (etl.state.blob_archive) both on a
local folder and on S3 (moto's real S3 API on loopback). Another plugs in as a `Backend` in
`BACKENDS`: how to make it, and how to look at a published run behind its back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl.state.archive import LocalArchive
from etl.state.base import Archive
from etl.state.blob_archive import AREA, BlobArchive, open_archive
from etl.state.blobs import LocalBlobs, StorageError
from etl.state.ledger.base import Commit
from etl.state.ledger.feed_runs import Ledger
from etl.state.manifest import Manifest, ManifestError
from tests.support.s3 import S3Bucket

DAY = "2026-12-07"


@dataclass(frozen=True)
class Backend:
    """One archive implementation, opened on a scratch folder, and how to list what a
    published run folder holds (names -> bytes) without going through the seam."""

    archive: Archive
    files: Callable[[Path], dict[str, bytes]]


def _local_files(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in run.rglob("*") if p.is_file()}


def _local(scratch: Path, request: pytest.FixtureRequest) -> Backend:
    return Backend(LocalArchive(scratch / "archive"), _local_files)


def _on_a_folder(scratch: Path, request: pytest.FixtureRequest) -> Backend:
    root, store = scratch / "archive", scratch / "store"
    archive = BlobArchive(root, LocalBlobs(store))
    return Backend(archive, lambda run: _local_files(store / run.relative_to(root)))


def _on_s3(scratch: Path, request: pytest.FixtureRequest) -> Backend:
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    root = scratch / "archive"

    def files(run: Path) -> dict[str, bytes]:
        prefix = f"shop-a/{AREA}/{run.relative_to(root).as_posix()}/"
        return {k.removeprefix(prefix): v for k, v in bucket.objects(prefix).items()}

    return Backend(open_archive(bucket.settings(prefix="shop-a"), root), files)


BACKENDS = {"local": _local, "blobs-on-a-folder": _on_a_folder, "s3": _on_s3}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each implementation in turn, fresh and empty."""
    return BACKENDS[request.param](tmp_path, request)


@pytest.fixture
def archive(backend: Backend) -> Archive:
    """A fresh, empty archive."""
    return backend.archive


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger: what `recover` asks which runs committed."""
    opened = Ledger(tmp_path / "ledger.sqlite")
    yield opened
    opened.close()


def committed(archive: Archive, feed: str, run_id: str, *, rejected: bool = False) -> Path:
    """A run staged with a manifest and published, as a flow does it."""
    staged = archive.stage(feed, DAY, run_id, rejected=rejected)
    archive.write_manifest(staged, Manifest.new(run_id=run_id, feed=feed, outcome="committed"))
    return archive.publish(staged)


# -- stage and publish ----------------------------------------------------------------------


def test_a_staged_run_is_empty_and_not_a_run_until_published(archive: Archive) -> None:
    staged = archive.stage("products", DAY, "r1")

    assert staged.is_dir() and list(staged.iterdir()) == []
    assert archive.runs("products") == []


def test_publish_puts_the_run_where_final_said(archive: Archive, backend: Backend) -> None:
    staged = archive.stage("products", DAY, "r1")
    archive.write_manifest(staged, Manifest.new(run_id="r1"))
    (staged / "r1.rejected.csv").write_text("line;code\n", encoding="utf-8")
    expected = archive.final(staged)

    published = archive.publish(staged)

    assert published == expected
    assert archive.runs("products") == [published]
    assert set(backend.files(published)) == {"manifest.json", "r1.rejected.csv"}


def test_staging_a_run_again_starts_from_an_empty_folder(archive: Archive) -> None:
    first = archive.stage("products", DAY, "r1")
    (first / "half-written.xlsx").write_bytes(b"PK")

    again = archive.stage("products", DAY, "r1")

    assert list(again.iterdir()) == []


def test_files_refused_whole_are_listed_apart(archive: Archive) -> None:
    kept = committed(archive, "products", "r1")
    refused = committed(archive, "products", "r2", rejected=True)

    assert archive.runs("products") == [kept]
    assert archive.runs("products", rejected=True) == [refused]
    assert archive.runs("prices") == []


def test_runs_come_oldest_first_across_days(archive: Archive) -> None:
    later = archive.publish(archive.stage("stock", "2026-12-08", "20261208T000000000-stock-a"))
    early = archive.publish(archive.stage("stock", DAY, "20261207T230000000-stock-b"))
    earlier = archive.publish(archive.stage("stock", DAY, "20261207T010000000-stock-c"))

    assert archive.runs("stock") == [earlier, early, later]


# -- the input and the manifest -------------------------------------------------------------


def test_the_input_is_kept_as_it_came(archive: Archive, backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "inbox" / "products_20261120.csv"
    source.parent.mkdir()
    source.write_bytes(b"Artikelnr;Namn\r\n100123;Handske \xe4\r\n")
    staged = archive.stage("products", DAY, "r1")

    archive.keep_input(source, staged)
    run = archive.publish(staged)

    assert backend.files(run) == {"products_20261120.csv": source.read_bytes()}
    assert source.read_bytes().startswith(b"Artikelnr")  # the inbox copy is not consumed


def test_the_manifest_reads_back_as_written(archive: Archive) -> None:
    written = Manifest.new(
        run_id="r1",
        feed="products",
        outcome="committed",
        counts={"rows": 10, "accepted": 7},
        held_reason=None,
        input={"name": "p.csv", "remote_path": "in/p.csv", "size": 3, "sha256": "ab"},
    )
    staged = archive.stage("products", DAY, "r1")
    archive.write_manifest(staged, written)

    run = archive.publish(staged)

    assert archive.read_manifest(run) == written
    assert archive.read_manifest(run).as_json() == written.as_json()


def test_a_run_without_a_manifest_has_none_to_read(archive: Archive) -> None:
    run = archive.publish(archive.stage("products", DAY, "r1"))
    with pytest.raises((OSError, ManifestError)):
        archive.read_manifest(run)


# -- recover --------------------------------------------------------------------------------


def test_recover_publishes_committed_runs_and_drops_the_rest(
    archive: Archive, ledger: Ledger
) -> None:
    def staged_run(run_id: str, *, rejected: bool = False) -> Path:
        ledger.start_run(run_id, "products", "file", "2026-12-07T10:00:00+00:00", None, None)
        staged = archive.stage("products", DAY, run_id, rejected=rejected)
        archive.write_manifest(staged, Manifest.new(run_id=run_id))
        return staged

    done = staged_run("r-committed")
    ledger.commit(Commit("r-committed", "products", "committed", "t", {}, [], "x"))
    refused = staged_run("r-rejected", rejected=True)
    ledger.commit(Commit("r-rejected", "products", "rejected", "t", {}, [], "x"))
    failed = staged_run("r-failed")
    ledger.fail_run("r-failed", "t", "failed", "Norce said no")
    running = staged_run("r-running")
    archive.stage("products", DAY, "r-unknown")  # a run the ledger never heard of

    recovered = archive.recover("products", ledger)

    assert sorted(recovered) == sorted([archive.final(done), archive.final(refused)])
    assert archive.runs("products") == [archive.final(done)]
    assert archive.runs("products", rejected=True) == [archive.final(refused)]
    assert archive.read_manifest(archive.final(done)).run_id == "r-committed"
    assert not failed.exists()
    assert running.is_dir()  # its run may still be writing it
    assert archive.recover("products", ledger) == []  # nothing left to settle but the live run


def test_recover_leaves_other_feeds_alone(archive: Archive, ledger: Ledger) -> None:
    ledger.start_run("r1", "prices", "file", "2026-12-07T10:00:00+00:00", None, None)
    staged = archive.stage("prices", DAY, "r1")
    ledger.commit(Commit("r1", "prices", "committed", "t", {}, [], "x"))

    assert archive.recover("products", ledger) == []
    assert staged.is_dir() and archive.runs("prices") == []


# -- what the tools read and change in a published run --------------------------------------


def _with_files(archive: Archive, feed: str = "customers") -> Path:
    """A published run holding a manifest, an input and a report one folder down."""
    staged = archive.stage(feed, DAY, "r1")
    archive.write_manifest(staged, Manifest.new(run_id="r1", feed=feed, outcome="committed"))
    (staged / "kunder.csv").write_bytes(b"Kundnr;Namn\r\n1001;Anna\r\n")
    (staged / "parts").mkdir()
    (staged / "parts" / "a.csv").write_bytes(b"x")
    return archive.publish(staged)


def test_files_names_what_a_run_holds_with_sizes(archive: Archive) -> None:
    run = _with_files(archive)

    files = archive.files(run)

    assert list(files) == ["kunder.csv", "manifest.json", "parts/a.csv"]
    assert files["kunder.csv"] == len(b"Kundnr;Namn\r\n1001;Anna\r\n") and files["parts/a.csv"] == 1
    assert archive.feeds() == ["customers"]


def test_opened_reads_a_file_of_the_run_and_nothing_else(archive: Archive) -> None:
    run = _with_files(archive)

    with archive.opened(run, "kunder.csv") as local:
        assert local is not None and local.read_bytes().startswith(b"Kundnr;Namn")
    with archive.opened(run, "parts/a.csv") as local:
        assert local is not None and local.read_bytes() == b"x"
    for missing in ("nope.csv", "../r1/kunder.csv", "/etc/passwd"):
        with archive.opened(run, missing) as local:
            assert local is None


def test_replace_puts_a_file_whole_in_place_of_the_old(
    archive: Archive, backend: Backend, tmp_path: Path
) -> None:
    run = _with_files(archive)
    masked = tmp_path / "masked.csv"
    masked.write_bytes(b"Kundnr;Namn\r\n1001;[erased]\r\n")

    archive.replace(run, "kunder.csv", masked)

    assert backend.files(run)["kunder.csv"] == masked.read_bytes()
    assert archive.files(run)["kunder.csv"] == len(masked.read_bytes())
    with pytest.raises((OSError, StorageError)):
        archive.replace(run, "not-there.csv", masked)


def test_a_rewritten_manifest_reads_back(archive: Archive) -> None:
    run = _with_files(archive)
    record = archive.read_manifest(run).updated(purged_at="2030-01-01T00:00:00+00:00")

    archive.rewrite_manifest(run, record)

    assert archive.read_manifest(run) == record


def test_remove_keeps_the_manifest_and_the_run_listed(archive: Archive, backend: Backend) -> None:
    run = _with_files(archive)

    archive.remove(run, ["kunder.csv", "parts/a.csv", "manifest.json"])
    archive.remove(run, ["kunder.csv"])  # removing twice is removing once

    assert set(backend.files(run)) == {"manifest.json"}
    assert list(archive.files(run)) == ["manifest.json"]
    assert archive.runs("customers") == [run]
    assert archive.read_manifest(run).run_id == "r1"

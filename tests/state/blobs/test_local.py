"""What only the local store does: owner-only files, temps never seen, no folder left empty."""

from __future__ import annotations

import stat
from pathlib import Path

from etl.state.blobs import Blob, Listing, LocalBlobs


def test_objects_are_owner_only_files_and_no_temp_is_left(tmp_path: Path) -> None:
    blobs = LocalBlobs(tmp_path / "blobs")
    source = tmp_path / "p.csv"
    source.write_bytes(b"x")
    source.chmod(0o644)

    blobs.put("a/one", b"1")
    blobs.put("a/one", b"11")
    blobs.put_file("a/two", source, create_only=True)

    files = sorted(
        p.relative_to(tmp_path / "blobs").as_posix() for p in (tmp_path / "blobs").rglob("*")
    )
    assert files == ["a", "a/one", "a/two"]
    for name in ("a/one", "a/two"):
        assert stat.S_IMODE((tmp_path / "blobs" / name).stat().st_mode) == 0o600


def test_what_a_dead_writer_left_is_no_object(tmp_path: Path) -> None:
    blobs = LocalBlobs(tmp_path / "blobs")
    blobs.put("a/one", b"1")
    (tmp_path / "blobs" / "a" / ".one.123-abcd1234.part").write_bytes(b"half")
    (tmp_path / "blobs" / "b").mkdir()
    (tmp_path / "blobs" / "b" / ".two.123-abcd1234.part").write_bytes(b"half")

    assert blobs.list("a") == Listing([Blob("a/one", 1)], [])
    assert blobs.list("") == Listing([], ["a"])  # b holds no object


def test_a_symlink_is_never_an_object(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    blobs = LocalBlobs(tmp_path / "blobs")
    blobs.put("a/one", b"1")
    (tmp_path / "blobs" / "a" / "link").symlink_to(outside)

    assert blobs.stat("a/link") is None
    assert blobs.list("a") == Listing([Blob("a/one", 1)], [])

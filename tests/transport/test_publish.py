"""Publishing a batch (etl.transport.publish): each file whole under its final name, or not there.

Every test runs against LocalStore (one file after the other through upload, stat and rename)
and SftpStore (the whole batch pipelined, etl.transport.sftp_publish).
"""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from etl.errors import TransportError
from etl.transport import Store
from etl.transport.publish import Outgoing, Publishing, publish
from tests.support.store_backends import Backend


def _files(tmp_path: Path, sizes: dict[str, int]) -> list[Outgoing]:
    """Local files of these sizes, each to go to out/<name> through out/<name>.part."""
    local = tmp_path / "local"
    local.mkdir(exist_ok=True)
    files = []
    for name, size in sizes.items():
        source = local / name
        source.write_bytes(os.urandom(size))
        files.append(Outgoing(source, f"out/{name}.part", f"out/{name}"))
    return files


def _on_server(root: Path) -> dict[str, bytes]:
    folder = root / "out"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_a_batch_lands_whole_under_the_final_names(
    store: Store, root: Path, tmp_path: Path
) -> None:
    sizes = {"a.xml": 6000, "big.csv": 200_000, "empty.txt": 0, "b.xml": 1}
    files = _files(tmp_path, sizes)
    landed: list[int] = []

    publish(store, files, landed.append)

    assert landed == [0, 1, 2, 3]
    assert _on_server(root) == {f.source.name: f.source.read_bytes() for f in files}


def test_a_taken_final_name_is_never_overwritten_and_the_others_land(
    store: Store, root: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path, {"a.xml": 10, "b.xml": 20, "c.xml": 30})
    (root / "out").mkdir()
    (root / "out" / "b.xml").write_bytes(b"the ERP's own file")
    landed: list[int] = []

    with pytest.raises(TransportError, match="already exists"):
        publish(store, files, landed.append)

    assert (root / "out" / "b.xml").read_bytes() == b"the ERP's own file"
    on_server = _on_server(root)
    assert on_server["a.xml"] == files[0].source.read_bytes()
    if isinstance(store, Publishing):
        assert landed == [0, 2]  # the whole batch was on its way: c lands as well
        assert on_server["c.xml"] == files[2].source.read_bytes()
    else:
        assert landed == [0]  # one by one: the batch stops at b


def test_a_taken_temp_name_publishes_nothing_and_leaves_no_temp_of_ours(
    store: Store, root: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path, {"a.xml": 10, "b.xml": 20})
    (root / "out").mkdir()
    (root / "out" / "b.xml.part").write_bytes(b"somebody's upload")
    landed: list[int] = []

    with pytest.raises(TransportError, match="already exists"):
        publish(store, files[1:], landed.append)

    assert landed == []
    assert _on_server(root) == {"b.xml.part": b"somebody's upload"}


def test_the_target_folder_is_made(store: Store, root: Path, tmp_path: Path) -> None:
    (file,) = _files(tmp_path, {"a.xml": 10})
    deep = Outgoing(file.source, "out/x/y/a.xml.part", "out/x/y/a.xml")

    publish(store, [deep], lambda _: None)

    assert (root / "out" / "x" / "y" / "a.xml").read_bytes() == file.source.read_bytes()


def test_an_error_of_the_callers_own_is_not_called_a_transport_error(
    store: Store, root: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path, {"a.xml": 10, "b.xml": 20})

    def landed(index: int) -> None:
        raise PermissionError(13, "the outbox is read-only", "sent/a.xml")

    with pytest.raises(PermissionError, match="outbox is read-only"):
        publish(store, files, landed)
    assert "a.xml" in _on_server(root)  # on the server: the next run settles it by looking


def test_a_read_only_store_publishes_nothing(backend: Backend, tmp_path: Path) -> None:
    files = _files(tmp_path, {"a.xml": 10})
    with pytest.raises(TransportError, match="read-only"):
        publish(backend.make(read_only=True), files, lambda _: None)
    assert _on_server(backend.root) == {}


@contextmanager
def _files_at_most(size: int) -> Iterator[None]:
    """Every file this process writes (the SFTP server's too) stops at `size` bytes: EFBIG."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_write_the_server_refuses_is_an_error_not_a_short_file(
    store: Store, root: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path, {"a.xml": 300_000})
    with _files_at_most(100_000), pytest.raises(TransportError):
        publish(store, files, lambda _: None)
    assert _on_server(root) == {}  # neither the final name nor a short temp file


def test_an_upload_the_server_cuts_short_is_an_error(
    store: Store, root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "a.xml"
    source.write_bytes(os.urandom(300_000))
    with _files_at_most(100_000), pytest.raises(TransportError):
        store.upload(source, "out/a.xml", through_temp=False)

"""LocalStore beyond the contract: symlinks out of the root, filesystems without hardlinks."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, SftpStoreSettings
from etl.errors import TransportError
from etl.transport import LocalStore, SftpStore, open_store


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside/secret.txt"
    secret.parent.mkdir()
    secret.write_text("not yours")
    return secret


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "root").mkdir()
    return LocalStore("erp", LocalStoreSettings(root=tmp_path / "root"))


def test_symlinked_file_outside_the_root_is_refused(
    store: LocalStore, tmp_path: Path, outside: Path
) -> None:
    (tmp_path / "root/leak.txt").symlink_to(outside)
    with pytest.raises(TransportError, match="outside the store root"):
        store.download("leak.txt", tmp_path / "copy.txt")
    with pytest.raises(TransportError, match="outside the store root"):
        store.remove("leak.txt")
    assert outside.exists()


def test_symlinked_folder_outside_the_root_is_refused(
    store: LocalStore, tmp_path: Path, outside: Path
) -> None:
    (tmp_path / "root/in").symlink_to(outside.parent)
    with pytest.raises(TransportError, match="outside the store root"):
        store.list("in")
    with pytest.raises(TransportError, match="outside the store root"):
        store.upload(outside, "in/planted.txt")
    assert not (outside.parent / "planted.txt").exists()


def test_symlink_inside_the_root_is_followed(store: LocalStore, tmp_path: Path) -> None:
    (tmp_path / "root/real").mkdir()
    (tmp_path / "root/real/a.csv").write_text("a")
    (tmp_path / "root/alias").symlink_to(tmp_path / "root/real")
    assert [f.path for f in store.list("alias")] == ["alias/a.csv"]


def test_without_hardlinks_rename_still_refuses_to_overwrite(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    root = tmp_path / "root"
    (root / "a.csv").write_text("a")
    (root / "b.csv").write_text("b")
    store.rename("a.csv", "done/a.csv")
    assert (root / "done/a.csv").read_text() == "a"
    with pytest.raises(TransportError, match="already exists"):
        store.rename("b.csv", "done/a.csv")
    assert (root / "b.csv").read_text() == "b"


def test_open_store_picks_the_implementation(tmp_path: Path) -> None:
    local = open_store("erp", LocalStoreSettings(root=tmp_path))
    remote = open_store("erp", SftpStoreSettings(host="127.0.0.1", username="etl"))
    assert isinstance(local, LocalStore)
    assert isinstance(remote, SftpStore)  # connects on first use, so nothing happened yet

"""Fixtures: one `store` per implementation, each with the local folder that backs its root."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings
from etl.transport import LocalStore, SftpStore, Store
from tests.support.sftp_server import Auth, SftpServerInfo, run_sftp_server
from tests.support.store_backends import STORE_NAME, Backend

_folders = itertools.count()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServerInfo]:
    """One SFTP server for the whole session; each test works in its own subfolder."""
    root = tmp_path_factory.mktemp("sftp-root")
    with run_sftp_server(root, tmp_path_factory.mktemp("sftp-keys")) as server:
        yield server


@pytest.fixture(params=["local", "sftp-password", "sftp-key"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every Store implementation in turn, over an empty root."""
    kind: str = request.param
    if kind == "local":
        root = tmp_path / "store"
        root.mkdir()

        def local(read_only: bool) -> Store:
            return LocalStore(STORE_NAME, LocalStoreSettings(root=root, read_only=read_only))

        chosen = Backend(kind, root, local)
    else:
        server: SftpServerInfo = request.getfixturevalue("sftp_server")
        folder = f"t{next(_folders)}"
        root = server.root / folder
        root.mkdir()
        auth: Auth = "key" if kind == "sftp-key" else "password"

        def sftp(read_only: bool) -> Store:
            settings = server.settings(auth, root=f"/{folder}", read_only=read_only)
            return SftpStore(STORE_NAME, settings)

        chosen = Backend(kind, root, sftp)
    yield chosen
    for store in chosen.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    """A writable store over `backend.root`."""
    return backend.make()


@pytest.fixture
def root(backend: Backend) -> Path:
    """The local folder behind the store's root, for arranging and checking files."""
    return backend.root

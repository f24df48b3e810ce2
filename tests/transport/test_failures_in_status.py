"""Nothing about the remote side fails silently: each failure is a `failed` run in `status`."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.commands.status import render_runs
from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings
from etl.runtime import Runtime
from etl.to_norce.run import run_feed
from etl.transport.base import Store
from tests.support.masterdata import settings_for, write_cp1252_products
from tests.support.sftp_server import (
    SftpServerInfo,
    known_hosts_line,
    other_host_key,
    run_sftp_server,
)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """The ERP's drop folder with one products export waiting."""
    root = tmp_path / "drop"
    (root / "products").mkdir(parents=True)
    write_cp1252_products(root / "products" / "products_1.csv", [])
    return root


@pytest.fixture
def server(drop: Path, tmp_path: Path) -> Iterator[SftpServerInfo]:
    """A real SFTP server on 127.0.0.1 serving the drop folder."""
    with run_sftp_server(drop, tmp_path / "keys") as info:
        yield info


def _store_toml(server: SftpServerInfo, overrides: dict[str, Any]) -> str:
    """The store's TOML lines; an override of None leaves the key out."""
    keys: dict[str, Any] = {
        "kind": "sftp",
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "known_hosts": str(server.known_hosts_path),
        "key_file": str(server.client_key_path),
        "timeout_seconds": 5,
    }
    keys.update(overrides)
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items() if v is not None)


def _other_known_hosts(server: SftpServerInfo, tmp_path: Path) -> str:
    path = tmp_path / "stale_known_hosts"
    path.write_text(known_hosts_line(server.host, server.port, other_host_key()))
    return str(path)


def _stranger_key(tmp_path: Path) -> str:
    """A client key the server does not know."""
    path = tmp_path / "stranger_ed25519"
    other_host_key().write_private_key(path)
    return str(path)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# (what is wrong, how the store is set up, what the message must name)
TROUBLE = {
    "key file missing": (lambda s, t: {"key_file": str(t / "no_key")}, "key_file"),
    "known_hosts missing": (lambda s, t: {"known_hosts": str(t / "no_kh")}, "known_hosts"),
    "remote root missing": (lambda s, t: {"root": "/no-such-root"}, "/no-such-root"),
    "feed folder missing": (lambda s, t: {"root": "/products"}, "'products' does not exist"),
    "host key unknown": (lambda s, t: {"known_hosts": _other_known_hosts(s, t)}, "changed"),
    "authentication": (lambda s, t: {"key_file": _stranger_key(t)}, "Authentication failed"),
    "connection refused": (lambda s, t: {"port": _closed_port()}, "cannot list"),
}


@pytest.mark.parametrize("problem", list(TROUBLE))
def test_remote_trouble_is_a_failed_run_shown_by_status_and_once_exits_1(
    home: Path,
    server: SftpServerInfo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    problem: str,
) -> None:
    change, named = TROUBLE[problem]
    text = _store_toml(server, change(server, tmp_path))
    config = home / "etl.toml"
    config.write_text(f'home = "."\n\n[stores.erp]\n{text}\n', encoding="utf-8")

    assert main(["--config", str(config), "once", "--feed", "products"]) == 1
    once = capsys.readouterr().out
    assert main(["--config", str(config), "status", "--feed", "products"]) == 1
    status = capsys.readouterr().out

    assert "products: -: failed: " in once and named in once
    first, problem = status.splitlines()[:2]
    assert first == "1 problem needs a person"
    assert problem.startswith("- failed: feed products (since ") and named in problem
    runs = status.split("\n\n")[1].splitlines()
    [row] = [line for line in runs if "products" in line and "failed" in line]
    assert named in row


class VanishingFile:
    """The real store, while someone removes the file between our listing and our download."""

    def __init__(self, store: Store, disk: Path) -> None:
        self._store, self._disk = store, disk

    def download(self, path: str, target: Path) -> None:
        self._disk.unlink(missing_ok=True)
        self._store.download(path, target)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_failed_download_is_a_failed_run_in_the_ledger(
    home: Path, drop: Path, tmp_path: Path
) -> None:
    settings = settings_for(home, LocalStoreSettings(root=drop))
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        rt._stores["erp"] = VanishingFile(rt.store("erp"), drop / "products" / "products_1.csv")
        [outcome] = run_feed(rt, load_contracts(settings)["products"])
        runs = rt.ledger.runs("products")
    finally:
        rt.close()
    assert outcome.outcome == "failed" and "products_1.csv" in outcome.message
    assert [(r.outcome, r.remote_path) for r in runs] == [("failed", "products/products_1.csv")]
    assert "cannot download" in (runs[0].message or "")
    assert "failed: " in render_runs(runs) and "products_1.csv" in render_runs(runs)
    assert os.listdir(home / "inbox" / "products") == []

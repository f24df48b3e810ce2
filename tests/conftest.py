"""Shared fixtures: a working home with the shipped contracts, a real SFTP server, the Norce stand-in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.norce.app import NorceStandin, run_norce_standin
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.sftp_server import SftpServerInfo, run_sftp_server

# The session's PostgreSQL and S3 for the tests that span machines (postgres_uri, postgres_at,
# shared_ledger, s3_endpoint, s3_bucket); tests.support.slow_first: the slow tests go out first.
pytest_plugins = ["tests.support.scale_fixtures", "tests.support.slow_first"]

# Hypothesis's per-example deadline (200 ms) judges the machine, not the code: on a shared,
# loaded CI machine a correct check of a few digits missed it (tests/entities' party checks).
settings.register_profile("loaded-machine", deadline=None)
settings.load_profile("loaded-machine")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: half as many workers again as there are cores.

    A third of the suite's time is spent waiting on child processes, sockets and fsyncs (a
    real SFTP server, uvicorn, PostgreSQL, `run.py` in a subprocess): with one worker a core,
    the whole run kept the cores 72% busy. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0))
    return max(2, cores + cores // 2)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A working folder with the shipped contracts, tuned so tests never wait on readiness."""
    root = tmp_path / "home"
    (root / "schemas").mkdir(parents=True)
    for contract in SCHEMAS.glob("*.toml"):
        text = contract.read_text(encoding="utf-8").replace(
            "stable_seconds = 2", "stable_seconds = 0.05"
        )
        (root / "schemas" / contract.name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def erp_root(tmp_path: Path) -> Path:
    """The ERP's drop folder, seeded with the sample exports."""
    root = tmp_path / "erp"
    shutil.copytree(SAMPLES, root)
    return root


@pytest.fixture
def sftp(erp_root: Path, tmp_path: Path) -> Iterator[SftpServerInfo]:
    """A real SFTP server on 127.0.0.1 serving the ERP drop folder."""
    keys = tmp_path / "sftp-keys"
    keys.mkdir()
    with run_sftp_server(erp_root, keys) as info:
        yield info


@pytest.fixture
def norce() -> Iterator[NorceStandin]:
    """The Norce stand-in on loopback."""
    with run_norce_standin() as standin:
        yield standin

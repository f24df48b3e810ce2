"""The services run inside the seccomp sandbox their units ask for, and stop cleanly on SIGTERM.

MemoryDenyWriteExecute=, SystemCallFilter= and RestrictAddressFamilies= are enforced by the
kernel at run time, so `systemd-analyze verify` cannot tell whether Python, polars, the SSH
stack and uvicorn live with them: these tests run the real commands under the same filters
(tests/deploy/sandbox.py).
"""

from __future__ import annotations

import ctypes.util
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.masterdata import signal_at_commit_point
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.unit_files import RECEIVER, SCHEDULER, read_unit

pytestmark = [
    pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"),
    pytest.mark.skipif(ctypes.util.find_library("seccomp") is None, reason="needs libseccomp"),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="filters written for x86-64"),
]


def sandboxed(unit: Path, home: Path, config: Path) -> list[str]:
    """The unit's ExecStart on this checkout, with `home` and `config`, under its filters."""
    argv = read_unit(unit).exec_start()[1:]
    argv[argv.index("--home") + 1] = str(home)
    argv[argv.index("--config") + 1] = str(config)
    launcher = [sys.executable, "-m", "tests.deploy.sandbox", str(unit), "--"]
    return [*launcher, sys.executable, "-m", "etl", *argv]


def launcher_env(**extra: str) -> dict[str, str]:
    """This environment, with the repository importable for the launcher."""
    return dict(os.environ) | {"PYTHONPATH": str(REPO)} | extra


@pytest.mark.slow
def test_the_scheduler_commits_a_file_and_stops_inside_its_sandbox(
    home: Path, erp_root: Path
) -> None:
    config = home / "etl.toml"
    config.write_text(
        f'pause_before_commit_seconds = 1.5\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        sandboxed(SCHEDULER, home, config),
        cwd=home,
        env=launcher_env(),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    seen = signal_at_commit_point(process, signal.SIGTERM)
    log = seen + process.communicate(timeout=60)[1]
    assert process.returncode == 0, log
    assert "committed run" in log and "scheduler stopped" in log


@pytest.mark.slow
def test_the_receiver_answers_and_stops_inside_its_sandbox(home: Path) -> None:
    port = free_port()
    config = home / "etl.toml"
    config.write_text(
        f'[receiver]\nport = {port}\npassword_env = "SANDBOX_RECEIVER_PASSWORD"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        sandboxed(RECEIVER, home, config),
        cwd=home,
        env=launcher_env(SANDBOX_RECEIVER_PASSWORD="a-long-test-password"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        request = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        answer = first_answer(process, port, request)
        process.send_signal(signal.SIGTERM)
        log = process.communicate(timeout=30)[1]
    finally:
        process.kill()
    assert answer.startswith(b"HTTP/1.1 401"), answer
    assert "Application shutdown complete" in log, log
    # uvicorn raises SIGTERM again once it has shut down, so the process ends by that signal:
    # systemd counts it as a clean exit (SuccessExitStatus= always includes SIGTERM).
    assert process.returncode == -signal.SIGTERM, log


def first_answer(process: subprocess.Popen[str], port: int, request: bytes) -> bytes:
    """Send `request` once the port takes connections; the status line and headers back."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(request)
                return conn.recv(4096)
        except ConnectionRefusedError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(process.communicate(timeout=30)[1]) from None
            time.sleep(0.1)


def test_the_sandbox_is_enforced(tmp_path: Path) -> None:
    # Without the unit's POLARS_SKIP_CPU_CHECK, polars cannot even be imported under
    # MemoryDenyWriteExecute: this is why the unit sets it, and proof the filter is live.
    unit = tmp_path / SCHEDULER.name
    text = SCHEDULER.read_text(encoding="utf-8")
    unit.write_text(text.replace("Environment=POLARS_SKIP_CPU_CHECK=1", ""), encoding="utf-8")
    command = [sys.executable, "-m", "tests.deploy.sandbox", str(unit), "--"]
    env = {k: v for k, v in launcher_env().items() if k != "POLARS_SKIP_CPU_CHECK"}
    done = subprocess.run(
        [*command, sys.executable, "-c", "import polars"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "could not execute mprotect for CPUID check" in done.stderr

"""`run.py receive` in its own process, on a port of the test's choosing, and the order it is sent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.paths import REPO

# The password start_receiver gives the process (through its environment) is "pw-for-tests".
ORDER = {
    "ClientOrderRef": "880001",
    "CurrencyCode": "SEK",
    "Items": [{"LineNo": 1, "PartNo": "100123", "Quantity": 2, "UnitPrice": "79.20"}],
}


def start_receiver(home: Path, port: int, pause: float) -> subprocess.Popen[str]:
    """A real `run.py receive` on `home` listening on `port`, waiting `pause` s before each answer."""
    config = home / f"receiver-{pause:g}.toml"
    config.write_text(
        f'home = "."\nschemas_dir = "schemas"\n[receiver]\nport = {port}\n'
        f'password_env = "TEST_RECEIVER_PASSWORD"\npause_before_answer_seconds = {pause}\n',
        encoding="utf-8",
    )
    env = {**os.environ, "TEST_RECEIVER_PASSWORD": "pw-for-tests"}
    return start_receiver_on(config, env, port)


def run_py(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`run.py --config CONFIG ARGS...` in the home of `config`, output captured."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", str(config), *args],
        cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def start_receiver_on(config: Path, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """`run.py receive` of the home of `config`, once it listens on `port`."""
    process = run_py(config, env, "receive")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.05)
    process.kill()
    raise AssertionError("receiver did not start listening")

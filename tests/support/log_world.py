"""The installation the proof runs in, all of it real: a home with every shipped contract and
layout, the ERP's SFTP server, the Norce stand-in (Connect, Query, Order service), and
`run.py` started as the operator starts it, each process's output kept whole."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.norce.app import NorceStandin
from tests.support.paths import REPO, SCHEMAS
from tests.support.ports import free_port
from tests.support.sftp_server import SftpServerInfo

APPLICATION_ID = 1042
RECEIVER_USER, RECEIVER_PASSWORD = "norce", "privacy-receiver-pw"
EVENT_TOKEN = "privacy-event-token"
FEEDS = (
    "prices",
    "customers",
    "companies",
    "buyer_numbers",
    "order_status",
    "delivery_notes",
    "invoices",
)


@dataclass
class Output:
    """What one process wrote: its log (stderr) and what it printed (stdout)."""

    command: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class World:
    """A home, its etl.toml, the secrets `run.py` reads from its environment."""

    home: Path
    server: Path
    config: Path
    env: dict[str, str]
    flags: tuple[str, ...]  # ("-v",) for DEBUG
    outputs: list[Output] = field(default_factory=list)

    def run(self, *args: str) -> Output:
        """`run.py [-v] --config etl.toml ARGS` to its end; its output is kept."""
        done = subprocess.run(
            self._command(*args), cwd=self.home, env=self.env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        output = Output(" ".join(args), done.returncode, done.stdout, done.stderr)
        self.outputs.append(output)
        return output

    @contextmanager
    def receiver(self) -> Iterator[str]:
        """`run.py [-v] receive` in its own process; yields its base URL. Its output is kept."""
        port = free_port()
        with self.config.open("a", encoding="utf-8") as config:
            config.write(f"[receiver]\nport = {port}\nusername = \"{RECEIVER_USER}\"\n"
                         'password_env = "PRIVACY_RECEIVER_PASSWORD"\n'
                         '[receiver.events]\ntoken_env = "PRIVACY_EVENT_TOKEN"\n')  # fmt: skip
        process = subprocess.Popen(
            self._command("receive"), cwd=self.home, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            _wait_for(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            stdout, stderr = process.communicate(timeout=15)
            self.outputs.append(Output("receive", process.returncode, stdout, stderr))

    def drop(self, name: str, data: bytes, *, done: bool = False) -> None:
        """The ERP writes a file (an hour ago, so it reads as complete) in its folder."""
        path = self.server / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = time.time() - 3600
        os.utime(path, (stamp, stamp))
        if done:
            (self.server / f"{name}.done").touch()

    def remote(self, folder: str) -> list[str]:
        """The names of the files in a folder of the ERP's server."""
        root = self.server / folder
        return sorted(p.name for p in root.iterdir()) if root.is_dir() else []

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, str(REPO / "run.py"), *self.flags, "--config", str(self.config),
                *args]  # fmt: skip


def make_world(tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin, debug: bool) -> World:
    """A home with the contracts of every flow that carries people, and both kinds of layout."""
    home = tmp_path / "home"
    (home / "schemas").mkdir(parents=True)
    for feed in FEEDS:
        text = (SCHEMAS / f"{feed}.toml").read_text(encoding="utf-8")
        text = text.replace("stable_seconds = 2", "stable_seconds = 0")
        (home / "schemas" / f"{feed}.toml").write_text(text, encoding="utf-8")
    for folder in ("orders", "parties"):
        shutil.copytree(SCHEMAS / folder, home / "schemas" / folder)
    config = home / "etl.toml"
    config.write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
        f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
        'password_env = "PRIVACY_SFTP_PASSWORD"\ntimeout_seconds = 5\n'
        f'[norce]\nmode = "http"\nbase_url = "{norce.base_url}"\n'
        f'client_id = "{norce.client_id}"\nclient_secret_env = "PRIVACY_NORCE_SECRET"\n'
        f"application_id = {APPLICATION_ID}\naccount_id = 1001\nrequest_timeout_seconds = 5\n"
        "max_attempts = 2\nbackoff_seconds = 0\njob_poll_seconds = 0\njob_timeout_seconds = 10\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PRIVACY_SFTP_PASSWORD": sftp.password,
        "PRIVACY_NORCE_SECRET": norce.client_secret,
        "PRIVACY_RECEIVER_PASSWORD": RECEIVER_PASSWORD,
        "PRIVACY_EVENT_TOKEN": EVENT_TOKEN,
    }
    for feed in FEEDS:  # the ERP's drop folders exist before it drops anything
        (sftp.root / feed).mkdir(exist_ok=True)
    return World(home, sftp.root, config, env, ("-v",) if debug else ())


def post_event(base_url: str, event: str, body: dict[str, object]) -> None:
    """Norce Event posts a customer or company change to the receiver; it must be taken."""
    answer = httpx.post(
        f"{base_url}/events/{event}",
        content=json.dumps({"ClientId": 7, "ApplicationId": APPLICATION_ID, **body}).encode(),
        headers={"Authorization": f"Bearer {EVENT_TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _wait_for(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
    raise AssertionError("the receiver did not start listening")

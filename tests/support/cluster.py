"""A cluster on one machine: one home, workers and receivers as real processes, one PostgreSQL.

The home has 20 feeds (10 product exports, 10 order-status exports, every one due every 3 s)
and the ERP's CSV order layout; the ERP is a real SFTP server, Norce the stand-in, the ledger
and the task queue one PostgreSQL database. Where the archive and state live is a parameter
(`Storage`): folders under the home (`LOCAL`), or a bucket (`s3_storage`).

    cluster = Cluster.build(tmp_path, sftp, norce, dsn, LOCAL)
    workers = [cluster.start_worker(f"worker-{i}") for i in range(3)]
    receivers = cluster.start_receivers(2)
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.cluster_workers import Worker, start_worker
from tests.support.masterdata import write_cp1252_products
from tests.support.norce.app import NorceStandin
from tests.support.paths import REPO, SCHEMAS
from tests.support.ports import free_port
from tests.support.sftp_server import SftpServerInfo

PRODUCT_FEEDS = tuple(f"products_{n:02d}" for n in range(1, 11))
STATUS_FEEDS = tuple(f"status_{n:02d}" for n in range(1, 11))
EVERY_3_SECONDS = "interval_minutes = 0.05"
RECEIVER_USER, RECEIVER_PASSWORD = "norce", "cluster-receiver-pw"
ORDER_FOLDER = "orders/in"


@dataclass(frozen=True)
class Storage:
    """Where the home keeps its state: the `[storage]` text, and the secrets it reads."""

    name: str
    text: str = ""
    env: dict[str, str] = field(default_factory=dict)


LOCAL = Storage("local")


def s3_storage(endpoint: str, bucket: str, key_id: str, secret: str) -> Storage:
    """`[storage] backend = "s3"` on `bucket` of the S3 API at `endpoint`."""
    text = (
        f'[storage]\nbackend = "s3"\nbucket = "{bucket}"\nprefix = "shop"\n'
        f'endpoint_url = "{endpoint}"\nregion = "eu-north-1"\n'
        'access_key_id_env = "CLUSTER_S3_KEY"\nsecret_access_key_env = "CLUSTER_S3_SECRET"\n'
    )
    return Storage("s3", text, {"CLUSTER_S3_KEY": key_id, "CLUSTER_S3_SECRET": secret})


def _feed_contract(shipped: str, name: str) -> str:
    """A shipped contract under another name and folder, due every 3 s, taken on rename."""
    text = (SCHEMAS / f"{shipped}.toml").read_text(encoding="utf-8")
    text = re.sub(r'^name = "\w+"', f'name = "{name}"', text, count=1, flags=re.M)
    text = re.sub(r'^folder = "\w+"', f'folder = "{name}"', text, count=1, flags=re.M)
    text = re.sub(r"^(interval_minutes = \S+|cron = \".*\")", EVERY_3_SECONDS, text, flags=re.M)
    # The test drops each file under a temp name and renames it: no two looks needed.
    return re.sub(r'^ready = "stable".*$', 'ready = "temp_name"', text, flags=re.M)


def _layout() -> str:
    text = (SCHEMAS / "orders" / "erp_csv.toml").read_text(encoding="utf-8")
    return text.replace("interval_minutes = 5", EVERY_3_SECONDS)


@dataclass
class Cluster:
    """One home shared by every process of the cluster, and what runs on it."""

    home: Path
    erp: Path  # the SFTP server's root: the ERP's folders
    env: dict[str, str]
    dsn: str
    scratch: Path
    workers: list[Worker] = field(default_factory=list)
    receivers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    @classmethod
    def build(
        cls, tmp: Path, sftp: SftpServerInfo, norce: NorceStandin, dsn: str, storage: Storage
    ) -> Cluster:
        """The home's contracts, layout and etl.toml; the ERP's folders made."""
        home = tmp / "home"
        (home / "schemas" / "orders").mkdir(parents=True)
        for names, shipped in ((PRODUCT_FEEDS, "products"), (STATUS_FEEDS, "order_status")):
            for name in names:
                (home / "schemas" / f"{name}.toml").write_text(_feed_contract(shipped, name))
                (sftp.root / name).mkdir(parents=True, exist_ok=True)
        (home / "schemas" / "orders" / "erp_csv.toml").write_text(_layout(), encoding="utf-8")
        (sftp.root / ORDER_FOLDER).mkdir(parents=True, exist_ok=True)
        (home / "etl.toml").write_text(_settings(sftp, norce) + storage.text, encoding="utf-8")
        env = {
            "CLUSTER_LEDGER_DSN": dsn,
            "CLUSTER_SFTP_PASSWORD": sftp.password,
            "CLUSTER_NORCE_SECRET": norce.client_secret,
            "CLUSTER_RECEIVER_PASSWORD": RECEIVER_PASSWORD,
            **storage.env,
        }
        scratch = tmp / "scratch"
        scratch.mkdir()
        return cls(home, sftp.root, env, dsn, scratch)

    def start_worker(self, name: str) -> Worker:
        """`run.py worker --concurrency 2` on the home; its log in home/<name>.log."""
        worker = start_worker(self.home, name, self.dsn, self.env, 2)
        self.workers.append(worker)
        return worker

    def start_receivers(self, count: int) -> list[subprocess.Popen[bytes]]:
        """`count` `run.py receive` on the home's settings, a port each; back once all listen."""
        started = [self._receiver(index) for index in range(count)]
        for index, process in enumerate(started):
            _wait_listening(process, self.ports[index], self.home / f"receiver-{index}.log")
        return started

    def _receiver(self, index: int) -> subprocess.Popen[bytes]:
        port = free_port()
        config = self.home / f"receiver-{index}.toml"
        config.write_text(
            (self.home / "etl.toml").read_text(encoding="utf-8")
            + f'[receiver]\nport = {port}\nusername = "{RECEIVER_USER}"\n'
            'password_env = "CLUSTER_RECEIVER_PASSWORD"\n',
            encoding="utf-8",
        )
        with (self.home / f"receiver-{index}.log").open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, str(REPO / "run.py"), "--config", config.name, "receive"],
                cwd=self.home, env={**os.environ, **self.env}, stdout=sink, stderr=sink,
            )  # fmt: skip
        self.receivers.append(process)
        self.ports.append(port)
        return process

    def drop(self, feed: str, name: str, data: bytes) -> str:
        """The ERP writes `name` in the feed's folder under a temp name, then renames it."""
        target = self.erp / feed / name
        part = target.with_name(target.name + ".part")
        part.write_bytes(data)
        part.rename(target)
        return f"{feed}/{name}"

    def drop_products(self, feed: str, day: int, rows: list[str]) -> str:
        """A products export of `day` in the shipped dialect."""
        write_cp1252_products(self.scratch / f"{feed}-{day}.csv", rows)
        data = (self.scratch / f"{feed}-{day}.csv").read_bytes()
        return self.drop(feed, f"products_202612{day:02d}.csv", data)

    def stop_all(self) -> None:
        """Every process still running killed (a test that failed half-way)."""
        for process in [w.process for w in self.workers] + self.receivers:
            if process.poll() is None:
                process.kill()
                process.wait()


def _settings(sftp: SftpServerInfo, norce: NorceStandin) -> str:
    """etl.toml: PostgreSQL ledger and queue, the ERP on SFTP, Norce over HTTP."""
    return (
        'home = "."\nschemas_dir = "schemas"\npause_before_commit_seconds = 0.5\n'
        '[state]\nbackend = "postgresql"\ndsn_env = "CLUSTER_LEDGER_DSN"\n'
        "[worker]\nstalled_after_seconds = 3\n"
        f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
        f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
        'password_env = "CLUSTER_SFTP_PASSWORD"\ntimeout_seconds = 10\n'
        f'[norce]\nmode = "http"\nbase_url = "{norce.base_url}"\n'
        f'client_id = "{norce.client_id}"\nclient_secret_env = "CLUSTER_NORCE_SECRET"\n'
        "application_id = 1042\naccount_id = 1001\n"
        "request_timeout_seconds = 10\nmax_attempts = 3\nbackoff_seconds = 0\njob_poll_seconds = 0.2\n"
    )


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"receiver on {port} did not start: {log.read_text(errors='replace')}")

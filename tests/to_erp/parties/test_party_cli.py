"""The party commands as an operator runs them: `run.py export-parties`, `run.py parties`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.parties import APPLICATION, TOKEN, PartyWorld, customer
from tests.support.paths import REPO


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_with_no_events_every_party_layout_runs_clean_on_the_embedded_default(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, "export-parties")  # an empty folder: the default ships in the package
    assert result.returncode == 0, result.stderr
    assert "customers -> erp_customers_csv: 0 file(s), 0 customers" in result.stdout
    assert "companies -> erp_companies_csv: 0 file(s), 0 companies" in result.stdout
    listed = run(tmp_path, "parties")
    assert listed.returncode == 0 and "No customer or company events" in listed.stdout


def test_export_parties_reads_the_settings_file_and_lists_where_each_event_went(
    world: PartyWorld,
) -> None:
    norce_id = customer(world)
    world.changed(norce_id)
    settings, server = world.settings, world.server
    config = settings.home / "etl.toml"
    config.write_text(
        f"""
home = "."
[stores.erp]
kind = "sftp"
host = "{server.host}"
port = {server.port}
username = "{server.username}"
known_hosts = "{server.known_hosts_path}"
password_env = "TEST_SFTP_PASSWORD"
[norce]
mode = "http"
base_url = "{world.norce.base_url}"
client_id = "{world.norce.client_id}"
client_secret_env = "TEST_NORCE_SECRET"
application_id = {APPLICATION}
max_attempts = 2
backoff_seconds = 0
[receiver]
password_env = "TEST_RECEIVER_PASSWORD"
[receiver.events]
token_env = "TEST_EVENT_TOKEN"
""",
        encoding="utf-8",
    )
    env = {
        "TEST_SFTP_PASSWORD": server.password,
        "TEST_NORCE_SECRET": world.norce.client_secret,
        "TEST_RECEIVER_PASSWORD": "receiver-test-password",
        "TEST_EVENT_TOKEN": TOKEN,
    }
    result = run(settings.home, "--config", str(config), "export-parties", env=env)
    assert result.returncode == 0, result.stderr
    assert "customers -> erp_customers_csv: 1 file(s), 1 customers" in result.stdout
    (name,) = world.files()
    listed = run(settings.home, "--config", str(config), "parties", env=env)
    assert f"erp_customers_csv: exported ({name})" in listed.stdout
    assert "erp_companies_csv" not in listed.stdout  # a customer event is no company's business
    for secret in env.values():
        assert secret not in result.stdout + result.stderr

"""`run.py once` with an ERP server that refuses: the failure reaches a real webhook once, however
many passes it lasts; when the server is back, one "resolved" message per alert follows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.alerts.book import recent_alerts
from etl.cli import main
from tests.support.alert_servers import webhook_server
from tests.support.paths import SAMPLES, SCHEMAS
from tests.support.ports import free_port
from tests.support.sftp_server import known_hosts_line, other_host_key


def _settings(home: Path, store: str) -> None:
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        '[alerts]\ninstance = "shop-test"\ntimeout_seconds = 2\n'
        '[alerts.channels.ops]\nkind = "webhook"\nurl_env = "TEST_ALERT_HOOK"\n'
        f"[stores.erp]\n{store}\n",
        encoding="utf-8",
    )


def _refusing_sftp(tmp_path: Path) -> str:
    port = free_port()
    (tmp_path / "known_hosts").write_text(known_hosts_line("127.0.0.1", port, other_host_key()))
    other_host_key().write_private_key(str(tmp_path / "id"))
    return (
        f'kind = "sftp"\nhost = "127.0.0.1"\nport = {port}\nusername = "erp"\n'
        f'known_hosts = "{tmp_path / "known_hosts"}"\nkey_file = "{tmp_path / "id"}"\n'
        "timeout_seconds = 2"
    )


def test_a_failed_run_is_alerted_once_and_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    shutil.copytree(SAMPLES, tmp_path / "erp")
    _settings(home, _refusing_sftp(tmp_path))
    with webhook_server() as hook:
        monkeypatch.setenv("TEST_ALERT_HOOK", hook.url)
        assert main(["--home", str(home), "once", "--feed", "products"]) == 1
        assert main(["--home", str(home), "once", "--feed", "products"]) == 1  # no second alert
        out = capsys.readouterr().out
        assert "alerts: 1 new, 0 resolved, 1 sent" in out
        assert "alerts: 0 new, 0 resolved, 0 sent" in out
        [opened] = [b["text"] for b in hook.bodies]
        assert opened.startswith("[shop-test] PROBLEM feed products")
        assert "Connection refused" in opened and "What the product did:" in opened

        _settings(home, f'kind = "local"\nroot = "{tmp_path / "erp"}"')
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
        assert main(["--home", str(home), "once", "--feed", "products"]) == 0
    assert len(hook.bodies) == 2
    assert hook.bodies[1]["text"].startswith("[shop-test] RESOLVED feed products")
    [record] = recent_alerts(home / "state" / "ledger.sqlite", 5)
    assert record.resolved_at is not None and record.sends == {
        "ops opened": "sent",
        "ops resolved": "sent",
    }


def test_a_channel_that_is_down_never_fails_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    (tmp_path / "erp" / "products").mkdir(parents=True)  # nothing waiting: the pass succeeds
    _settings(home, f'kind = "local"\nroot = "{tmp_path / "erp"}"')
    toml = (home / "etl.toml").read_text(encoding="utf-8")
    # A problem to send: the receiver is expected and has never run.
    toml = toml.replace("[alerts]\n", "[alerts]\nexpect_receiver = true\n", 1)
    (home / "etl.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("TEST_ALERT_HOOK", f"http://127.0.0.1:{free_port()}/hook")
    assert main(["--home", str(home), "once", "--feed", "products"]) == 0
    out = capsys.readouterr().out
    assert "alerts: 1 new, 0 resolved, 0 sent" in out
    assert "alerts: ops is down: ConnectError: [Errno 111] Connection refused" in out

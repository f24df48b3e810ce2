"""A channel's secret is read when a message is sent: `status` runs without the service's
environment, and a channel whose secret is missing is down (logged), the others go on."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest

from etl.alerts.tick import alert_tick
from etl.cli import main
from etl.config.settings import load_settings
from tests.support.alert_problems import FAILED, T0
from tests.support.alert_servers import webhook_server
from tests.support.paths import SCHEMAS


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    (tmp_path / "erp").mkdir()
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n[alerts]\ntimeout_seconds = 2\n'
        '[alerts.channels.ops]\nkind = "webhook"\nurl_env = "TEST_F2_HOOK"\n'
        '[alerts.channels.spare]\nkind = "webhook"\nurl_file = "spare-hook.txt"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{tmp_path / "erp"}"\n',
        encoding="utf-8",
    )
    return home


def test_status_needs_no_channel_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    monkeypatch.delenv("TEST_F2_HOOK", raising=False)
    assert main(["--home", str(home), "status"]) == 0
    assert capsys.readouterr().out.startswith("nothing needs a person")


def test_a_missing_secret_downs_its_channel_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = _home(tmp_path)
    monkeypatch.chdir(home)  # the secret file is where the service runs, as before
    monkeypatch.delenv("TEST_F2_HOOK", raising=False)
    alerts = load_settings(home / "etl.toml", {}).alerts
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook:
        (home / "spare-hook.txt").write_text(hook.url + "\n", encoding="utf-8")
        first = alert_tick(ledger, alerts, [FAILED], T0)
        assert len(hook.bodies) == 1  # the spare channel's
        assert first.failed == {
            "ops": "alerts.channels.ops.url_env: environment variable TEST_F2_HOOK is not set"
        }
        monkeypatch.setenv("TEST_F2_HOOK", hook.url)  # the service's environment fixed
        alert_tick(ledger, alerts, [FAILED], T0 + dt.timedelta(seconds=61))
        assert len(hook.bodies) == 2
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "channel ops did not take the opened message" in warning.getMessage()

"""A channel that fails in a way no library names (a non-ASCII SMTP password, a URL httpx
refuses) is down like any other: backoff, a warning without secrets, the others still sent."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from etl.alerts.book import recent_alerts
from etl.alerts.tick import alert_tick
from etl.config.alert_settings import AlertSettings, EmailChannel, WebhookChannel
from etl.logs import install
from tests.support.alert_problems import FAILED, T0
from tests.support.alert_servers import smtp_relay, webhook_server


def test_a_non_ascii_smtp_password_downs_only_the_mail_channel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install()
    caplog.set_level(logging.INFO)
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook, smtp_relay(tmp_path) as relay:
        mail = EmailChannel(
            host="127.0.0.1",
            port=relay.port,
            ca_file=relay.ca_file,
            sender="etl@shop.example",
            to=("ops@shop.example",),
            username=SecretStr(relay.username),
            password=SecretStr("Lösenord-1"),
        )
        # The mail channel first: before, its error ended the tick before the webhook's turn.
        alerts = AlertSettings(
            channels={"mail": mail, "slack": WebhookChannel(url=SecretStr(hook.url))},
            timeout_seconds=2,
        )
        summary = alert_tick(ledger, alerts, [FAILED], T0)
        assert len(hook.bodies) == 1 and relay.messages == []
        assert summary.sent == 1 and summary.failed["mail"].startswith("UnicodeEncodeError")
        again = alert_tick(ledger, alerts, [FAILED], T0 + dt.timedelta(seconds=30))
        assert again.waiting == ["mail"]  # on backoff, not tried again at once
    (record,) = recent_alerts(ledger, 5)
    assert record.sends == {"mail opened": "pending", "slack opened": "sent"}
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "channel mail did not take the opened message" in warning.getMessage()
    assert "UnicodeEncodeError" in warning.getMessage()
    for secret in ("Lösenord", "T0SECRET", relay.username):
        assert secret not in caplog.text


def test_a_url_httpx_refuses_downs_its_channel_without_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with webhook_server() as hook:
        bad = WebhookChannel(url=SecretStr("http://shop.example:T0SECRET/hook"))
        alerts = AlertSettings(
            channels={"bad": bad, "good": WebhookChannel(url=SecretStr(hook.url))},
            timeout_seconds=2,
        )
        summary = alert_tick(tmp_path / "ledger.sqlite", alerts, [FAILED], T0)
        assert len(hook.bodies) == 1
    assert summary.failed["bad"].startswith("InvalidURL")
    assert "T0SECRET" not in caplog.text and "T0SECRET" not in summary.failed["bad"]

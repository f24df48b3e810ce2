"""`[alerts]` in etl.toml: channels by name, their secrets from the environment or a file only."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.alert_settings import EmailChannel, SecretUnavailable, WebhookChannel, reveal
from etl.config.settings import load_settings
from etl.errors import ConfigError

ENV = {
    "HOOK": "https://hooks.slack.example/services/T0/B0/SECRET",
    "SMTP_USER": "u",
    "SMTP_PW": "p",
}


def _write(tmp_path: Path, alerts: str) -> Path:
    path = tmp_path / "etl.toml"
    path.write_text(alerts, encoding="utf-8")
    return path


def test_channels_with_their_secrets_from_the_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[alerts]\ninstance = "shop-prod"\n'
        '[alerts.channels.slack]\nkind = "webhook"\nurl_env = "HOOK"\n'
        '[alerts.channels.mail]\nkind = "email"\nhost = "smtp.example.com"\n'
        'sender = "etl@shop.example"\nto = ["ops@shop.example"]\nca_file = "relay-ca.pem"\n'
        'username_env = "SMTP_USER"\npassword_env = "SMTP_PW"\n',
    )
    alerts = load_settings(path, {}).alerts  # read when a message is sent, not here
    slack, mail = alerts.channels["slack"], alerts.channels["mail"]
    assert isinstance(slack, WebhookChannel) and isinstance(mail, EmailChannel)
    assert reveal(slack.url, ENV) == ENV["HOOK"] and slack.format == "text"
    assert (mail.port, mail.security, mail.ca_file) == (587, "starttls", tmp_path / "relay-ca.pem")
    assert mail.password is not None and reveal(mail.password, ENV) == "p"
    with pytest.raises(SecretUnavailable, match="password_env: environment variable SMTP_PW is"):
        reveal(mail.password, {})
    assert "SECRET" not in repr(alerts) and "'p'" not in repr(alerts)
    assert alerts.instance == "shop-prod" and alerts.every_minutes == 1


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ('kind = "webhook"\nurl = "https://x"', "alerts.channels.ops.url", "not allowed inline"),
        ('kind = "webhook"\nurl_env = 3', "alerts.channels.ops.url_env", "non-empty string"),
        (
            'kind = "webhook"\nurl_env = "HOOK"\nformat = "html"',
            "alerts.channels.ops.webhook.format",
            "",
        ),
        (
            'kind = "email"\nhost = "h"\nsender = "a@b.c"\nto = ["x@y.z"]\nsecurity = "none"\n'
            'username_env = "SMTP_USER"\npassword_env = "SMTP_PW"',
            "alerts.channels.ops",
            "never sent over a plain connection",
        ),
        (
            'kind = "email"\nhost = "h"\nsender = "a@b.c"\nto = []',
            "alerts.channels.ops.email.to",
            "",
        ),
        ('kind = "pager"', "alerts.channels.ops", ""),
    ],
)
def test_a_wrong_channel_names_its_key(tmp_path: Path, table: str, key: str, problem: str) -> None:
    path = _write(tmp_path, f"[alerts.channels.ops]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, ENV)
    assert raised.value.key.startswith(key) and problem in raised.value.problem

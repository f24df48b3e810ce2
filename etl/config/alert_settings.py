"""[alerts]: where a problem that needs a person is sent, and how the processes watch each other.

Each channel is a table of its own, `[alerts.channels.<name>]`, with a `kind`: a `webhook`
(Slack, Microsoft Teams, Mattermost: one JSON POST per alert) or `email` (SMTP, STARTTLS by
default). Their secrets come from the environment or a file as every other secret does:
the webhook's URL (it is the credential), the SMTP user name and password. Unlike the
others, they are read when a message is sent, not when the settings load: `status`, `trace`
and every command that sends nothing run without them (a monitoring check run outside the
service's environment); a channel whose secret is missing is down, and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, model_validator

from etl.config.toml import Strict
from etl.errors import ConfigError, EtlError

# The secrets of a channel as they appear in TOML (`url_env`, `password_file`...).
CHANNEL_SECRETS = ("url", "username", "password")


class SecretUnavailable(EtlError):
    """A channel's secret could not be read when a message was to be sent."""


class SecretRef(Strict):
    """Where a channel's secret is read when it is needed: `<key>_env` or `<key>_file`."""

    key: str  # e.g. alerts.channels.ops.url_env: named when it cannot be read
    env: str | None = None
    file: Path | None = None

    def reveal(self, environ: Mapping[str, str]) -> str:
        """The secret now, or SecretUnavailable (which names where, never the value)."""
        if self.env is not None:
            if self.env not in environ:
                raise SecretUnavailable(f"{self.key}: environment variable {self.env} is not set")
            return environ[self.env]
        if self.file is None:
            raise SecretUnavailable(f"{self.key}: neither an environment variable nor a file")
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretUnavailable(f"{self.key}: cannot read: {exc}") from exc


# A secret given as such (tests, code) or where to find it (etl.toml).
ChannelSecret = SecretStr | SecretRef


def reveal(secret: ChannelSecret, environ: Mapping[str, str]) -> str:
    """The secret's value: given, or read from its variable or file now."""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret.reveal(environ)


def defer_channel_secrets(channel: dict[str, Any], where: str, source: str) -> None:
    """Replace a channel's `<secret>_env` / `<secret>_file` keys by where to read it later."""
    for key in CHANNEL_SECRETS:
        if key in channel:
            raise ConfigError(
                source,
                f"{where}.{key}",
                f"secrets are not allowed inline: use {key}_env or {key}_file",
            )
        env_name, file_name = channel.pop(f"{key}_env", None), channel.pop(f"{key}_file", None)
        for name, value in ((f"{key}_env", env_name), (f"{key}_file", file_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(source, f"{where}.{name}", "must be a non-empty string")
        if env_name is not None:
            channel[key] = {"key": f"{where}.{key}_env", "env": env_name}
        elif file_name is not None:
            channel[key] = {"key": f"{where}.{key}_file", "file": file_name}


class WebhookChannel(Strict):
    """An incoming webhook: one JSON POST per alert.

    `text` posts `{"text": ...}`, which Slack, Mattermost, Google Chat and the older Teams
    connectors take; `teams_workflow` posts an Adaptive Card, what the Teams Workflows
    template "Send webhook alerts to a channel" expects (it keeps `text` beside it).
    """

    kind: Literal["webhook"] = "webhook"
    url: ChannelSecret  # from url_env / url_file, read at each send: whoever has it can post
    format: Literal["text", "teams_workflow"] = "text"


class EmailChannel(Strict):
    """An SMTP relay: one e-mail per alert, to every address in `to`."""

    kind: Literal["email"] = "email"
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded (port 587); tls: TLS from the start (port 465);
    # none: only for a relay on this machine, and never with a password.
    security: Literal["starttls", "tls", "none"] = "starttls"
    ca_file: Path | None = None  # trust this CA (a private relay); default: the system's
    sender: str = Field(min_length=3)
    to: tuple[str, ...] = Field(min_length=1)
    username: ChannelSecret | None = None  # from username_env / username_file, read at send
    password: ChannelSecret | None = None  # from password_env / password_file, read at send

    @model_validator(mode="after")
    def _auth_over_tls(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username_env and password_env (or their _file), or neither")
        if self.password is not None and self.security == "none":
            raise ValueError(
                "a password is never sent over a plain connection: use starttls or tls"
            )
        return self


AlertChannel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="kind")]


class AlertSettings(Strict):
    """One alert per problem until it is resolved, then one "resolved" message."""

    channels: dict[str, AlertChannel] = Field(default_factory=dict)
    instance: str = Field(default="erp-norce-etl", min_length=1)  # names this installation
    every_minutes: float = Field(default=1.0, gt=0)  # how often the scheduler looks
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)  # one send, connect included
    # A channel that is down waits this long, doubled after each failure up to the cap.
    retry_after_seconds: float = Field(default=60.0, ge=1)
    retry_at_most_minutes: float = Field(default=60.0, gt=0)
    # Heartbeats: the scheduler and the receiver each write one every minute and check the
    # other's. None: watch a process once it has been seen running; false: never.
    stale_after_minutes: float = Field(default=5.0, gt=0)
    expect_scheduler: bool | None = None
    expect_receiver: bool | None = None

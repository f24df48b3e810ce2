"""[alerts]: where a problem that needs a person is sent, and how the processes watch each other.

Each channel is a table of its own, `[alerts.channels.<name>]`, with a `kind`: a `webhook`
(Slack, Microsoft Teams, Mattermost: one JSON POST per alert) or `email` (SMTP, STARTTLS by
default). Their secrets come from the environment or a file as every other secret does:
the webhook's URL (it is the credential), the SMTP user name and password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from etl.config.toml import Strict

# The secrets of a channel as they appear in TOML (`url_env`, `password_file`...).
CHANNEL_SECRETS = {"url": "url", "username": "username", "password": "password"}


class WebhookChannel(Strict):
    """An incoming webhook: one JSON POST per alert.

    `text` posts `{"text": ...}`, which Slack, Mattermost, Google Chat and the older Teams
    connectors take; `teams_workflow` posts an Adaptive Card, what the Teams Workflows
    template "Send webhook alerts to a channel" expects (it keeps `text` beside it).
    """

    kind: Literal["webhook"] = "webhook"
    url: SecretStr  # resolved from url_env / url_file: whoever has it can post
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
    username: SecretStr | None = None  # resolved from username_env / username_file
    password: SecretStr | None = None  # resolved from password_env / password_file

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

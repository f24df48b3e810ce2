"""Sending one alert on one channel: a webhook POST (httpx) or an e-mail (smtplib).

Each library's failures become `ChannelDown` here and nowhere else, with a message that
never carries a secret: not the webhook's URL (it is the credential), not the SMTP
password. Any other exception a send raises (a non-ASCII password smtplib cannot encode, a
URL httpx refuses) is a `ChannelDown` too, named by its type only: its text may quote the
secret. Every send is bounded by the settings' timeout, connect included.
"""

from __future__ import annotations

import os
import smtplib
import ssl

from etl.alerts.messages import AlertText, email_message, webhook_body
from etl.config.alert_settings import (
    AlertChannel,
    EmailChannel,
    SecretUnavailable,
    WebhookChannel,
    reveal,
)
from etl.errors import EtlError


class ChannelDown(EtlError):
    """A channel did not take a message; it is tried again later."""


def send(channel: AlertChannel, text: AlertText, timeout: float) -> None:
    """Send `text` on `channel`, or raise ChannelDown."""
    try:
        if isinstance(channel, WebhookChannel):
            _post(channel, text, timeout)
        else:
            _mail(channel, text, timeout)
    except ChannelDown:
        raise
    except SecretUnavailable as exc:
        # Its variable or file names where the secret should be; the message has no secret.
        raise ChannelDown(str(exc)) from exc
    except Exception as exc:
        # Not a failure the libraries name: still this channel's, never the tick's.
        raise ChannelDown(_unexpected(exc)) from exc


def _post(channel: WebhookChannel, text: AlertText, timeout: float) -> None:
    import httpx  # here: most homes have no webhook (see etl.norce.client)

    url = reveal(channel.url, os.environ)
    try:
        answer = httpx.post(url, json=webhook_body(text, channel.format), timeout=timeout)
    except httpx.HTTPError as exc:
        # httpx names the URL in some messages: it is the secret, so it goes.
        raise ChannelDown(_without(f"{type(exc).__name__}: {exc}", url)) from exc
    if not answer.is_success:
        raise ChannelDown(f"the webhook answered HTTP {answer.status_code}")


def _mail(channel: EmailChannel, text: AlertText, timeout: float) -> None:
    message = email_message(text, channel.sender, channel.to)
    context = ssl.create_default_context(
        cafile=str(channel.ca_file) if channel.ca_file is not None else None
    )
    login = None  # read before connecting: a missing secret opens no connection
    if channel.username is not None and channel.password is not None:
        login = (reveal(channel.username, os.environ), reveal(channel.password, os.environ))
    try:
        with _connect(channel, context, timeout) as smtp:
            if channel.security == "starttls":
                smtp.starttls(context=context)
            if login is not None:
                smtp.login(*login)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # SMTP errors carry the server's answer, never what we sent to log in.
        raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc


def _connect(channel: EmailChannel, context: ssl.SSLContext, timeout: float) -> smtplib.SMTP:
    if channel.security == "tls":
        return smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=context)
    return smtplib.SMTP(channel.host, channel.port, timeout=timeout)


def _unexpected(exc: Exception) -> str:
    """The exception's type and a hint; never its text, which may quote a secret."""
    if isinstance(exc, UnicodeError):
        return (
            f"{type(exc).__name__}: a character the protocol cannot carry "
            "(a non-ASCII SMTP user name or password?)"
        )
    return f"{type(exc).__name__} (its details are left out: they may quote a secret)"


def _without(message: str, secret: str) -> str:
    return message.replace(secret, "<webhook url>") if secret else message

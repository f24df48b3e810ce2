"""What an alert says, and the bodies each channel sends it in.

Every alert says what happened, to which feed, file or order, what the product did, and
the command that helps. Its words come partly from outside (a file name, Norce's message):
each part is put on one line and cut short, and for a webhook `&`, `<` and `>` are escaped,
so a file named `<!channel>` cannot ping a whole Slack channel.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from etl.alerts.sends import Claimed
from etl.transport.names import one_line

_PART = 500  # characters of one part of a message (a subject, a Norce message)


@dataclass(frozen=True)
class AlertText:
    """An alert as words: a headline and its lines."""

    headline: str
    lines: tuple[str, ...]

    def plain(self) -> str:
        """The headline and lines as plain text."""
        return "\n".join((self.headline, *self.lines))


def alert_text(claim: Claimed, instance: str) -> AlertText:
    """The words of one message: a problem that appeared, or one that is gone."""
    p = claim.problem
    what = f"{_part(p.subject)}: {_part(p.what)}"
    if claim.message == "resolved":
        return AlertText(
            f"[{_part(instance)}] RESOLVED {what}",
            (f"Resolved at {claim.resolved_at}; it began {p.since}.", f"Key: {_part(p.key)}"),
        )
    lines = [f"What the product did: {_part(p.did)}"]
    if p.command:
        lines.append(f"What helps: {_part(p.command)}")
    lines += [f"Since: {p.since}", f"Key: {_part(p.key)}"]
    return AlertText(f"[{_part(instance)}] PROBLEM {what}", tuple(lines))


def webhook_body(text: AlertText, form: str) -> dict[str, Any]:
    """The JSON body: `text` for Slack and its kind; an Adaptive Card for Teams Workflows."""
    if form != "teams_workflow":
        return {"text": _slack_escape(text.plain())}
    blocks = [{"type": "TextBlock", "text": text.headline, "weight": "Bolder", "wrap": True}]
    blocks += [{"type": "TextBlock", "text": line, "wrap": True} for line in text.lines]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    return {
        "type": "message",
        "text": text.plain(),
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def email_message(text: AlertText, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """The e-mail: the headline as its subject, every line in its body."""
    message = EmailMessage()
    message["Subject"] = text.headline[:200]
    message["From"] = sender
    message["To"] = ", ".join(to)
    # RFC 5322 requires a Date; a relay elsewhere adds neither, and providers file mail
    # without a Message-ID as spam. The sender's domain names the ID.
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
    message["Message-ID"] = email.utils.make_msgid(domain=domain or None)
    message.set_content(text.plain() + "\n")
    return message


def _part(value: str) -> str:
    """One part of a message on one line, cut short."""
    flat = one_line(value)
    return flat if len(flat) <= _PART else flat[: _PART - 1] + "…"


def _slack_escape(text: str) -> str:
    """The three characters Slack reads as markup (links, mentions) escaped, as it asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

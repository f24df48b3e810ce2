"""One alert per problem over many ticks, one "resolved" when it is gone, on a real webhook and a
real SMTP relay (STARTTLS, AUTH) on loopback; a channel that is down waits and is retried."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from etl.alerts.book import AlertBook, recent_alerts
from etl.alerts.tick import alert_tick
from etl.config.alert_settings import AlertSettings, EmailChannel, WebhookChannel
from etl.console.problems import Problem
from etl.logs import install
from tests.support.alert_problems import FAILED, T0
from tests.support.alert_servers import Relay, Webhook, smtp_relay, webhook_server

HELD = Problem(
    key="held:20261207T025500000-products-3f2a9c1b",
    kind="held_removals",
    subject="feed products",
    what="1,204 removals held by the deletion guard (40% of the catalogue)",
    did="sent the adds and changes; the removals wait",
    command="run.py approve 20261207T025500000-products-3f2a9c1b",
    since="2026-12-07T02:55:00+00:00",
)


def _webhook(hook: Webhook, form: str = "text") -> WebhookChannel:
    return WebhookChannel(url=SecretStr(hook.url), format=form)  # type: ignore[arg-type]


def _email(relay: Relay, password: str | None = None) -> EmailChannel:
    return EmailChannel(
        host="127.0.0.1",
        port=relay.port,
        ca_file=relay.ca_file,
        sender="etl@shop.example",
        to=("ops@shop.example",),
        username=SecretStr(relay.username),
        password=SecretStr(password or relay.password),
    )


def _settings(**channels: WebhookChannel | EmailChannel) -> AlertSettings:
    return AlertSettings(channels=channels, timeout_seconds=2, instance="shop-prod")


def test_one_alert_per_problem_over_many_ticks_then_one_resolved(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook, smtp_relay(tmp_path) as relay:
        alerts = _settings(slack=_webhook(hook), mail=_email(relay))
        for minute in range(6):
            alert_tick(ledger, alerts, [FAILED], T0 + dt.timedelta(minutes=minute))
        assert len(hook.bodies) == 1 and len(relay.messages) == 1
        assert relay.logins == ["PLAIN:ok"]  # after STARTTLS: the relay refuses AUTH before
        for minute in range(6, 10):
            alert_tick(ledger, alerts, [], T0 + dt.timedelta(minutes=minute))
        assert len(hook.bodies) == 2 and len(relay.messages) == 2
    assert hook.bodies[0]["text"].startswith("[shop-prod] PROBLEM feed products: the run failed")
    assert hook.bodies[1]["text"].startswith("[shop-prod] RESOLVED feed products: the run failed")
    assert relay.messages[0]["Subject"].startswith("[shop-prod] PROBLEM feed products")
    assert relay.messages[1]["Subject"].startswith("[shop-prod] RESOLVED feed products")
    body = relay.messages[0].get_payload(decode=True).decode()
    assert "What the product did: kept the snapshot and the file" in body
    assert "What helps: run.py status --feed products" in body
    assert relay.messages[0]["To"] == "ops@shop.example"
    # RFC 5322 wants a Date; big providers file mail without a Message-ID as spam (review).
    for message in relay.messages:
        assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
        assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert relay.messages[0]["Message-ID"] != relay.messages[1]["Message-ID"]


def test_a_problem_that_comes_back_is_a_new_alert(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook:
        alerts = _settings(slack=_webhook(hook))
        for minute, problems in enumerate([[FAILED], [], [FAILED], [FAILED, HELD], [HELD]]):
            alert_tick(ledger, alerts, problems, T0 + dt.timedelta(minutes=minute))
    heads = [b["text"].split(":")[0] for b in hook.bodies]
    assert heads == [
        "[shop-prod] PROBLEM feed products",
        "[shop-prod] RESOLVED feed products",
        "[shop-prod] PROBLEM feed products",
        "[shop-prod] PROBLEM feed products",  # the hold: same feed, its own key
        "[shop-prod] RESOLVED feed products",
    ]
    assert "run.py approve 20261207T025500000-products-3f2a9c1b" in hook.bodies[3]["text"]
    records = recent_alerts(ledger, 10)
    assert [(r.problem.key, r.resolved_at is None) for r in records] == [
        (HELD.key, True),
        (FAILED.key, False),
        (FAILED.key, False),
    ]
    assert records[1].alerted_at == "2026-12-07T03:02:00+00:00"
    assert records[1].resolved_at == "2026-12-07T03:04:00+00:00"


def test_slack_and_teams_bodies(tmp_path: Path) -> None:
    hostile = Problem(**{**FAILED.__dict__, "subject": "file <!channel> & co.csv\nFAKE LINE"})
    with webhook_server() as slack, webhook_server() as teams:
        alerts = _settings(slack=_webhook(slack), teams=_webhook(teams, "teams_workflow"))
        alert_tick(tmp_path / "ledger.sqlite", alerts, [hostile], T0)
    # Slack (and the older Teams connectors) take {"text": ...}; <, > and & are escaped.
    assert list(slack.bodies[0]) == ["text"] and slack.content_types == ["application/json"]
    text = slack.bodies[0]["text"]
    assert "file &lt;!channel&gt; &amp; co.csv\\nFAKE LINE" in text and "<!channel>" not in text
    # Teams Workflows: an Adaptive Card in attachments, the text beside it.
    card = teams.bodies[0]
    assert card["type"] == "message" and card["text"].startswith("[shop-prod] PROBLEM")
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    blocks = attachment["content"]["body"]
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert [b["type"] for b in blocks] == ["TextBlock"] * 5
    assert blocks[2]["text"] == "What helps: run.py status --feed products"


def test_a_down_channel_waits_is_retried_and_never_blocks_the_others(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook, webhook_server() as good:
        alerts = _settings(down=_webhook(hook), good=_webhook(good))
        hook.failing = True
        first = alert_tick(ledger, alerts, [FAILED, HELD], T0)
        assert first.failed == {"down": "the webhook answered HTTP 500"} and first.sent == 2
        assert hook.posts == 1  # its first failure stops the channel for this tick
        # Within the backoff (60 s, then 120 s...) it is not tried at all.
        second = alert_tick(ledger, alerts, [FAILED, HELD], T0 + dt.timedelta(seconds=30))
        assert second.waiting == ["down"] and hook.posts == 1
        hook.failing = False
        alert_tick(ledger, alerts, [FAILED, HELD], T0 + dt.timedelta(seconds=61))
        assert hook.posts == 3 and len(hook.bodies) == 2 and len(good.bodies) == 2
    assert first.lines()[1] == "alerts: down is down: the webhook answered HTTP 500"


def test_backoff_doubles_up_to_its_cap(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    alerts = AlertSettings(
        channels={"refused": WebhookChannel(url=SecretStr(f"http://127.0.0.1:{_closed_port()}/x"))},
        retry_after_seconds=60,
        retry_at_most_minutes=3,
    )
    tried_at = []
    now = T0
    while now < T0 + dt.timedelta(minutes=12):
        if alert_tick(ledger, alerts, [FAILED], now).failed:
            tried_at.append(int((now - T0).total_seconds()))
        now += dt.timedelta(seconds=30)
    assert tried_at == [0, 60, 180, 360, 540]  # waits of 60, 120, then 180 s (the cap)


def test_a_send_that_hangs_is_cut_by_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # takes the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        alerts = AlertSettings(
            channels={"slow": WebhookChannel(url=SecretStr(url))}, timeout_seconds=0.5
        )
        started = time.monotonic()
        summary = alert_tick(tmp_path / "ledger.sqlite", alerts, [FAILED, HELD], T0)
        took = time.monotonic() - started
    assert summary.failed["slow"].startswith("ReadTimeout")
    assert took < 3  # one timeout for the channel, not one per message


def test_resolved_before_it_was_ever_sent_sends_nothing(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook:
        alerts = _settings(slack=_webhook(hook))
        hook.failing = True
        alert_tick(ledger, alerts, [FAILED], T0)
        hook.failing = False
        alert_tick(ledger, alerts, [], T0 + dt.timedelta(minutes=5))
        alert_tick(ledger, alerts, [], T0 + dt.timedelta(minutes=10))
    assert hook.bodies == []
    (record,) = recent_alerts(ledger, 5)
    assert record.sends == {"slack opened": "skipped"} and record.alerted_at is None


def test_two_processes_reconciling_at_once_send_one_message(tmp_path: Path) -> None:
    # Two connections of their own, as the scheduler and the receiver have, started together.
    ledger = tmp_path / "ledger.sqlite"
    AlertBook(ledger).close()  # the ledger exists before both start
    with webhook_server() as hook:
        alerts = _settings(slack=_webhook(hook))
        start = threading.Barrier(4)

        def tick() -> None:
            start.wait()
            for minute in range(3):
                alert_tick(ledger, alerts, [FAILED, HELD], T0 + dt.timedelta(minutes=minute))

        threads = [threading.Thread(target=tick) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(b["text"].split("\n")[-1] for b in hook.bodies) == [
        f"Key: {FAILED.key}",
        f"Key: {HELD.key}",
    ]


def test_wrong_smtp_password_is_retried_and_no_secret_reaches_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install()  # as every process does: libraries that log URLs are kept to warnings
    caplog.set_level(logging.DEBUG)
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as hook, smtp_relay(tmp_path) as relay:
        hook.failing = True
        alerts = _settings(slack=_webhook(hook), mail=_email(relay, "not-the-Pa55"))
        summary = alert_tick(ledger, alerts, [FAILED], T0)
        assert relay.logins == ["PLAIN:refused", "LOGIN:refused"] and relay.messages == []
        assert summary.failed["mail"].startswith("SMTPAuthenticationError: (535")
        relay.password = "not-the-Pa55"  # the relay's password changed to the one we have
        hook.failing = False
        alert_tick(ledger, alerts, [FAILED], T0 + dt.timedelta(seconds=61))
        assert len(relay.messages) == 1 and len(hook.bodies) == 1
    logged = caplog.text
    assert "did not take the opened message for failed:products" in logged
    for secret in ("T0SECRET", "not-the-Pa55", "smtp-Pa55-word", relay.username):
        assert secret not in logged


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_channel_added_later_gets_the_alerts_still_open(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with webhook_server() as first, webhook_server() as later:
        alert_tick(ledger, _settings(a=_webhook(first)), [FAILED], T0)
        both = _settings(a=_webhook(first), b=_webhook(later))
        alert_tick(ledger, both, [FAILED], T0 + dt.timedelta(minutes=1))
        alert_tick(ledger, both, [FAILED], T0 + dt.timedelta(minutes=2))
    assert len(first.bodies) == 1 and len(later.bodies) == 1

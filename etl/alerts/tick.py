"""One alerts tick: hold the problems of now against the book, then send what is due.

A channel that is down costs one timeout per tick at most: its first failure puts it on
backoff and gives its other claimed messages back. Nothing here raises for a channel's
sake; a tick never fails or holds up a run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from etl.alerts.book import Alertable, AlertBook, Reconciled
from etl.alerts.channels import ChannelDown, send
from etl.alerts.messages import alert_text
from etl.alerts.sends import AlertSends, Backoff
from etl.config.alert_settings import AlertChannel, AlertSettings
from etl.state.ledger.connection import LedgerAt

log = logging.getLogger(__name__)


@dataclass
class TickSummary:
    """What a tick did: alerts opened and resolved, messages sent, channels that failed."""

    reconciled: Reconciled
    sent: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # channel -> why
    waiting: list[str] = field(default_factory=list)  # channels on backoff, not tried

    def lines(self) -> tuple[str, ...]:
        """One line for `once`, plus one per channel that failed."""
        r = self.reconciled
        line = f"alerts: {len(r.opened)} new, {len(r.resolved)} resolved, {self.sent} sent"
        if self.waiting:
            line += f"; waiting to retry: {', '.join(self.waiting)}"
        return (line, *(f"alerts: {name} is down: {why}" for name, why in self.failed.items()))


def alert_tick(
    ledger: LedgerAt,
    alerts: AlertSettings,
    problems: Iterable[Alertable],
    now: dt.datetime,
    only: Collection[str] | None = None,
) -> TickSummary:
    """Reconcile the book with `problems` (on the keys `only`, if given), then send what is due."""
    book = AlertBook(ledger)
    sends = AlertSends(ledger)
    try:
        summary = TickSummary(book.reconcile(problems, list(alerts.channels), now, only))
        backoff = Backoff(
            dt.timedelta(seconds=alerts.retry_after_seconds),
            dt.timedelta(minutes=alerts.retry_at_most_minutes),
        )
        for name, channel in alerts.channels.items():
            _work(sends, name, channel, alerts, backoff, now, summary)
    finally:
        book.close()
        sends.close()
    return summary


def _work(
    sends: AlertSends,
    name: str,
    channel: AlertChannel,
    alerts: AlertSettings,
    backoff: Backoff,
    now: dt.datetime,
    summary: TickSummary,
) -> None:
    """Send one channel's due messages in order; stop at its first failure."""
    if sends.waits_until(name, now) is not None:
        summary.waiting.append(name)
        return
    claims = sends.claim(name, now)
    for done, claim in enumerate(claims):
        try:
            send(channel, alert_text(claim, alerts.instance), alerts.timeout_seconds)
        except ChannelDown as exc:
            retry = sends.failed(claim, str(exc), now, backoff)
            sends.release(claims[done + 1 :])
            summary.failed[name] = str(exc)
            log.warning(
                "alerts: channel %s did not take the %s message for %s; retried after %s: %s",
                name,
                claim.message,
                claim.problem.key,
                retry.isoformat(timespec="seconds"),
                exc,
            )
            return
        sends.sent(claim, now)
        summary.sent += 1
        log.info("alerts: %s message for %s sent on %s", claim.message, claim.problem.key, name)

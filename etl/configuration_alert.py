"""A start whose feed contracts or layouts do not load: a `failed` problem, alerted.

The settings loaded, so the alert channels are known, but nothing else can run: `once`, the
scheduler and `status` record the failure as the job `configuration` and alert it. That
alert is reconciled on its own key only: without contracts nothing can tell whether a feed's
failure is gone, so no other alert is opened or resolved here. Every alerts pass (the
receiver's too, whose contracts loaded when it started) keeps it open while the last start
failed; the next start whose contracts load resolves it. When the settings themselves do not
load there is nothing to alert through: the error is logged and the process exits 2.
"""

from __future__ import annotations

import datetime as dt
import logging

from etl.alerts.tick import alert_tick
from etl.config.settings import Settings
from etl.console.configuration_problems import (
    CONFIGURATION,
    KEY,
    configuration_problem,
)
from etl.console.problems import Problem
from etl.errors import ConfigError
from etl.runtime import ledger_at
from etl.state.ledger.connection import LedgerAt, ledger_exists
from etl.state.ledger.job_outcomes import FAILED, OK, JobOutcome, JobOutcomes
from etl.transport.names import one_line

log = logging.getLogger(__name__)


def configuration_failed(settings: Settings, error: ConfigError, now: dt.datetime) -> Problem:
    """Record that the contracts did not load, alert it, and return the problem to show."""
    message = one_line(str(error))
    problem = configuration_problem(message, now.isoformat(timespec="seconds"))
    try:
        outcome = _record(ledger_at(settings), FAILED, message, now)
        if outcome is not None:  # failing since the first start that failed
            problem = configuration_problem(outcome.message, outcome.failing_since or outcome.at)
        _alert(settings, [problem], now)
    except Exception:
        # The configuration error is what the operator must see; this failure only logs.
        log.exception("alerts: the configuration problem could not be recorded or sent")
    return problem


def configuration_loaded(settings: Settings, now: dt.datetime) -> None:
    """The contracts loaded: a configuration problem from an earlier start is resolved."""
    ledger = ledger_at(settings)
    try:
        if not ledger_exists(ledger):
            return  # a first start: nothing failed before
        outcomes = JobOutcomes(ledger)
        try:
            last = outcomes.of(CONFIGURATION)
        finally:
            outcomes.close()
        if last is None or last.outcome != FAILED:
            return
        _record(ledger, OK, "", now)
        _alert(settings, [], now)
    except Exception:
        log.exception("alerts: the configuration problem could not be resolved; next start")


def _record(ledger: LedgerAt, outcome: str, message: str, now: dt.datetime) -> JobOutcome | None:
    outcomes = JobOutcomes(ledger)
    try:
        outcomes.record(CONFIGURATION, outcome, message, now.isoformat(timespec="seconds"))
        return outcomes.of(CONFIGURATION)
    finally:
        outcomes.close()


def _alert(settings: Settings, problems: list[Problem], now: dt.datetime) -> None:
    """Open or resolve the configuration alert only, then send what is due."""
    if not settings.alerts.channels:
        return
    ledger = ledger_at(settings)
    summary = alert_tick(ledger, settings.alerts, problems, now, only={KEY})
    for line in summary.lines():
        log.info("%s", line)

"""Every source of problems together: what `status`, the alerts and the page all ask.

The `Problem` itself lives in etl.console.problems, which each source imports; this module
imports the sources, so it cannot be that one (the import graph has no cycles).
"""

from __future__ import annotations

import datetime as dt

from etl.config.contracts import FeedContract
from etl.console.changed_orders import read_changed_problems
from etl.console.configuration_problems import CONFIGURATION, configuration_problems
from etl.console.document_problems import read_document_problems
from etl.console.expected import missing_problems
from etl.console.file_problems import file_problems, held_problems
from etl.console.heartbeat import heartbeat_problems
from etl.console.order_problems import order_problems
from etl.console.problems import Problem
from etl.console.run_problems import failure_problems
from etl.runtime import Runtime
from etl.state.ledger.job_outcomes import JobOutcomes


def find_problems(
    rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime
) -> list[Problem]:
    """Everything that needs a person now, oldest first; reads the ledger and folders only."""
    outcomes = JobOutcomes(rt.ledger.at)
    try:
        jobs = outcomes.latest()
    finally:
        outcomes.close()
    found = [
        *failure_problems(rt.ledger, contracts, jobs),
        *file_problems(rt.ledger, contracts.values()),
        *held_problems(rt.ledger),
        *order_problems(rt.ledger.at, rt.areas, rt.settings.storage),
        *read_changed_problems(rt.ledger.at, rt.spool("orders")),
        *read_document_problems(rt.ledger.at, now),
        *missing_problems(rt, contracts, now),
        *heartbeat_problems(rt, now),
        *configuration_problems(next((j for j in jobs if j.job == CONFIGURATION), None)),
    ]
    return sorted(found, key=lambda p: (p.since, p.key))

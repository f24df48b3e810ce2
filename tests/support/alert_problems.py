"""A problem the alert tests send, and the time their ticks start."""

from __future__ import annotations

import datetime as dt

from etl.console.problems import Problem

T0 = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
FAILED = Problem(
    key="failed:products",
    kind="failed",
    subject="feed products",
    what="the run failed: SFTP erp: connection refused",
    did="kept the snapshot and the file; the next tick tries again",
    command="run.py status --feed products",
    since="2026-12-07T02:55:00+00:00",
)

"""A feed run held at its commit point on one "machine" while the test acts on another.

The home's `pause_before_commit_seconds` (the crash-drill switch) makes the run call its
runtime's sleep with that pause just before the commit; `held_at_commit` turns that one call
into a wait on an event, so the test decides when the run commits and never sleeps for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.runtime import Runtime
from etl.to_norce.records import FileOutcome
from etl.to_norce.run import run_feed


def held_at_commit(
    pause: float, paused: threading.Event, go: threading.Event
) -> Callable[[float], None]:
    """A runtime's sleep: the commit-point `pause` sets `paused` and waits for `go`; other
    waits are real."""

    def sleep(seconds: float) -> None:
        if seconds != pause:
            time.sleep(seconds)
            return
        paused.set()
        assert go.wait(60), "the test never let the run commit"

    return sleep


def feed_run_in_thread(
    settings: Settings, feed: str, sleep: Callable[[float], None], outcomes: list[FileOutcome]
) -> threading.Thread:
    """One pass over `feed` in a started thread, its outcomes added to `outcomes`."""

    def run() -> None:
        rt = Runtime.open(settings, sleep=sleep)
        try:
            outcomes.extend(run_feed(rt, load_contracts(settings)[feed]))
        finally:
            rt.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread

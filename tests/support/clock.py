"""Clocks for tests: a fake monotonic clock that only moves when something sleeps, a fixed export instant."""

from __future__ import annotations

import datetime as dt


class FakeTime:
    """A clock that only moves when something sleeps; sleeps are recorded, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """The time now, in seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock on by it."""
        self.sleeps.append(seconds)
        self.now += seconds


NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)

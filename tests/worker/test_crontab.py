"""A job's schedule as procrastinate crontab lines: the same instants on every worker."""

from __future__ import annotations

import datetime as dt
import itertools

import croniter
import pytest

from etl.config.schedule import ScheduleSpec
from etl.worker.crontab import cron_plan

MIDNIGHT = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def instants(lines: tuple[str, ...], hours: float) -> list[dt.datetime]:
    """Every instant the lines fire in `hours` from midnight UTC, merged and sorted."""
    end = MIDNIGHT + dt.timedelta(hours=hours)
    found: set[dt.datetime] = set()
    for line in lines:
        it = croniter.croniter(line, MIDNIGHT - dt.timedelta(seconds=1))
        while (at := it.get_next(dt.datetime)) < end:
            found.add(at)
    return sorted(found)


def gaps(times: list[dt.datetime]) -> set[float]:
    return {(b - a).total_seconds() for a, b in itertools.pairwise(times)}


@pytest.mark.parametrize("minutes", [0.05, 0.5, 1, 5, 15, 45, 60, 90, 96, 120, 480, 1440])
def test_an_interval_that_divides_a_day_fires_at_exact_multiples_from_midnight(
    minutes: float,
) -> None:
    plan = cron_plan(ScheduleSpec(interval_minutes=minutes))
    times = instants(plan.lines, 48 if minutes >= 60 else 2)
    assert plan.every_seconds == minutes * 60
    assert times[0] == MIDNIGHT
    assert gaps(times) == {minutes * 60}  # across the hour and the day too


@pytest.mark.parametrize(
    ("minutes", "kept"), [(7, 360), (100, 96 * 60), (0.7, 30), (2880, 86400), (0.001, 1)]
)
def test_an_interval_that_does_not_is_rounded_down_never_up(minutes: float, kept: float) -> None:
    plan = cron_plan(ScheduleSpec(interval_minutes=minutes))
    assert plan.every_seconds == kept
    assert gaps(instants(plan.lines, 48 if kept >= 3600 else 2)) == {kept}


def test_a_crontab_line_is_kept_as_it_is() -> None:
    plan = cron_plan(ScheduleSpec(cron="15 2 * * *"))
    assert plan.lines == ("15 2 * * *",) and plan.every_seconds is None

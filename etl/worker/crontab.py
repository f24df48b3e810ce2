"""A job's ScheduleSpec as the crontab lines procrastinate's periodic tasks take.

A crontab line stays as it is. An interval becomes the instants that are whole multiples of
it, counted from midnight UTC: every worker computes the same instants from the clock alone,
and procrastinate defers each instant once however many workers see it (its
`procrastinate_periodic_defers` table), with no chain of self-deferred jobs that a dead
worker could break. That needs an interval that divides a day (in whole minutes) or a
minute (in whole seconds); one that does not (7 minutes, 100 minutes) is rounded down to
the nearest that does (6, 96): a feed is looked at a little more often than asked, never
less, and the worker says so when it starts. APScheduler's interval counts from the start
of the process instead, which on several machines would give every one a phase of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.config.schedule import ScheduleSpec

MINUTE_SECONDS = 60
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class CronPlan:
    """The crontab lines of one schedule, and the interval they keep (None for a crontab)."""

    lines: tuple[str, ...]
    every_seconds: float | None = None


def cron_plan(schedule: ScheduleSpec) -> CronPlan:
    """The crontab lines that run `schedule`: its own line, or its interval's instants."""
    if schedule.cron is not None:
        return CronPlan((schedule.cron,))
    assert schedule.interval_minutes is not None
    seconds = schedule.interval_minutes * MINUTE_SECONDS
    if seconds < MINUTE_SECONDS:
        step = _largest_divisor(MINUTE_SECONDS, int(seconds))
        # croniter's optional sixth field is the seconds.
        return CronPlan((f"* * * * * */{step}",), float(step))
    minutes = _largest_divisor(DAY_MINUTES, min(int(seconds // MINUTE_SECONDS), DAY_MINUTES))
    return CronPlan(_minute_lines(minutes), float(minutes * MINUTE_SECONDS))


def _largest_divisor(whole: int, at_most: int) -> int:
    """The largest divisor of `whole` not above `at_most` (1 at least)."""
    return max(d for d in range(1, max(at_most, 1) + 1) if whole % d == 0)


def _minute_lines(every: int) -> tuple[str, ...]:
    """Every `every` minutes from midnight (`every` divides a day): one line per minute of the hour."""
    if every == DAY_MINUTES:
        return ("0 0 * * *",)
    if every % MINUTE_SECONDS == 0:
        return (f"0 */{every // MINUTE_SECONDS} * * *",)
    if MINUTE_SECONDS % every == 0:
        return (f"*/{every} * * * *",)
    hours: dict[int, list[int]] = {}
    for start in range(0, DAY_MINUTES, every):
        hours.setdefault(start % MINUTE_SECONDS, []).append(start // MINUTE_SECONDS)
    return tuple(
        f"{minute} {','.join(map(str, sorted(at)))} * * *" for minute, at in sorted(hours.items())
    )

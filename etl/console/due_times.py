"""When a feed's file was due: the fire times of its [expect] cron, right across DST changes.

APScheduler's CronTrigger computes the fire times on the feed's wall clock; it only looks
forward, so the latest fire time before an instant is found by starting a little earlier
and stepping forward, widening the start until one is found.

At the autumn change a wall-clock time comes round twice (02:30 CEST, then 02:30 CET); the
trigger fires at both, but an ERP writes its nightly file once, so only the first counts
as due. At the spring change a time that never happens (02:30 on the last Sunday of March
in Stockholm) is due at the instant the trigger gives: 02:30 read on the old offset, which
is 03:30 on the new one.

`unmet` asks of the latest due time whose grace has passed whether any file came since the
deadline before it (the due time before plus the grace): a file early for it counts, so
does one late for the due time before. It does not match files with due times one by one:
an ERP's nightly file is a full export, so the next file makes up for a missed one and one
missed day must not leave the feed missing for good.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

_STEP = dt.timedelta(microseconds=1)
# How far back the latest due time is looked for, widening: a minutely cron finds it in the
# first hour, a yearly one in the last. Beyond five years the cron is taken never to fire.
_LOOK_BACK = tuple(dt.timedelta(days=d) for d in (1 / 24, 1, 8, 32, 367, 5 * 366))


def is_repeat(fire: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """Whether `fire` is the second time its wall-clock time happens (the autumn change)."""
    local = fire.astimezone(zone)
    return local.replace(fold=0).astimezone(dt.UTC) != local.astimezone(dt.UTC)


def due_at_or_after(trigger: CronTrigger, at: dt.datetime) -> dt.datetime | None:
    """The first due time at or after `at`, in UTC; None when the cron never fires again."""
    fire = trigger.get_next_fire_time(None, at.astimezone(dt.UTC))
    while fire is not None and is_repeat(fire, trigger.timezone):
        # In UTC: aware arithmetic in the zone is wall-clock arithmetic, and 02:30 CET plus
        # a microsecond would be 02:30 CEST again, an hour back.
        fire = trigger.get_next_fire_time(None, fire.astimezone(dt.UTC) + _STEP)
    return fire.astimezone(dt.UTC) if fire is not None else None


def due_after(trigger: CronTrigger, at: dt.datetime) -> dt.datetime | None:
    """The first due time strictly after `at`, in UTC."""
    return due_at_or_after(trigger, at.astimezone(dt.UTC) + _STEP)


def latest_due(trigger: CronTrigger, at: dt.datetime) -> dt.datetime | None:
    """The last due time at or before `at`, in UTC; None when none within five years."""
    at = at.astimezone(dt.UTC)
    for back in _LOOK_BACK:
        fire = due_at_or_after(trigger, at - back)
        if fire is None or fire > at:
            continue
        while (later := due_after(trigger, fire)) is not None and later <= at:
            fire = later
        return fire
    return None


def due_before(trigger: CronTrigger, due: dt.datetime) -> dt.datetime | None:
    """The due time just before `due`, in UTC."""
    return latest_due(trigger, due.astimezone(dt.UTC) - _STEP)


@dataclass(frozen=True)
class Unmet:
    """Due times with no file since: from `first` (None: no file ever came) to `latest`."""

    latest: dt.datetime
    first: dt.datetime | None


def unmet(
    trigger: CronTrigger, grace: dt.timedelta, came: Sequence[dt.datetime], now: dt.datetime
) -> Unmet | None:
    """The missed due times at `now`: None when a file came since the latest one's deadline.

    The latest due time whose grace has passed is met by any file that came after the
    deadline before it (the due time before plus the grace). When it is not, `first` is the
    first due time missed since the last file came, the same for the whole run of misses.
    """
    latest = latest_due(trigger, now - grace)
    if latest is None:
        return None
    if not came:
        return Unmet(latest, None)
    last = max(came)
    before = due_before(trigger, latest)
    # A grace longer than the gap between due times puts the deadline before `latest` after
    # `latest` itself: a file that came after `latest` is its file all the same.
    if before is None or last > min(before + grace, latest):
        return None
    return Unmet(latest, _first_missed(trigger, grace, last) or latest)


def _first_missed(
    trigger: CronTrigger, grace: dt.timedelta, last: dt.datetime
) -> dt.datetime | None:
    """The first due time the file that came `last` did not meet: the streak's first miss.

    A due time D is met by a file after min(deadline before D, D); the first one not met by
    `last` is at or after it and has the deadline before it at or after it.
    """
    met = due_at_or_after(trigger, last - grace)
    after_deadline = due_after(trigger, met) if met is not None else None
    at_or_after = due_at_or_after(trigger, last)
    if after_deadline is None or at_or_after is None:
        return None
    return max(after_deadline, at_or_after)

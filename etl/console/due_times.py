"""When a feed's file was due: the fire times of its [expect] cron, right across DST changes.

APScheduler's CronTrigger computes the fire times on the feed's wall clock; it only looks
forward, so the latest fire time before an instant is found by starting a little earlier
and stepping forward, widening the start until one is found.

At the autumn change a wall-clock time comes round twice (02:30 CEST, then 02:30 CET); the
trigger fires at both, but an ERP writes its nightly file once, so only the first counts
as due. At the spring change a time that never happens (02:30 on the last Sunday of March
in Stockholm) is due at the instant the trigger gives: 02:30 read on the old offset, which
is 03:30 on the new one.

`unmet` matches files with due times: each due time takes one file, the first that came
after the grace of the due time before it, so a file late for Monday is Monday's, not
Tuesday's, and Tuesday's is missing until a second file comes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

_STEP = dt.timedelta(microseconds=1)
# How far back the latest due time is looked for, widening: a minutely cron finds it in the
# first hour, a yearly one in the last. Beyond five years the cron is taken never to fire.
_LOOK_BACK = tuple(dt.timedelta(days=d) for d in (1 / 24, 1, 8, 32, 367, 5 * 366))
# How many due times back files are matched with them: a longer run of misses is keyed by
# the due time this far back (it moves on), and older files are taken as matched.
MATCHED_DUES = 500


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
    """Due times no file came for: from `first` (None: no file ever came) to `latest`."""

    latest: dt.datetime
    first: dt.datetime | None


def unmet(
    trigger: CronTrigger, grace: dt.timedelta, came: Sequence[dt.datetime], now: dt.datetime
) -> Unmet | None:
    """The due times (grace passed) no file came for, matching each file to one due time.

    Walking the due times oldest first, each takes the first file that came after the grace
    of the one before it (early, on time or late): a file that came in a due time's grace,
    or late for it, is that due time's and not the next one's. `came` is oldest first.
    """
    latest = latest_due(trigger, now - grace)
    if latest is None:
        return None
    if not came:
        return Unmet(latest, None)
    dues = _dues_back_to(trigger, latest, came[0] - grace)
    waiting = deque(came)
    for before, due in itertools.pairwise(dues):
        while waiting and waiting[0] <= before + grace:
            waiting.popleft()  # a second file for an earlier due time: it is no later one's
        if not waiting:
            return Unmet(latest, due)
        waiting.popleft()
    return None


def _dues_back_to(
    trigger: CronTrigger, latest: dt.datetime, until: dt.datetime
) -> list[dt.datetime]:
    """Due times up to `latest`, oldest first, from the last one at or before `until`."""
    dues = [latest]
    while len(dues) < MATCHED_DUES and dues[0] > until:
        before = due_before(trigger, dues[0])
        if before is None:
            break
        dues.insert(0, before)
    return dues

"""Due times of an [expect] cron on the feed's wall clock, across Stockholm's DST changes."""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.console.due_times import (
    Unmet,
    due_after,
    due_at_or_after,
    due_before,
    latest_due,
    unmet,
)

STOCKHOLM = "Europe/Stockholm"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_a_six_oclock_file_is_due_at_six_local_on_both_sides_of_the_spring_change() -> None:
    six = CronTrigger.from_crontab("0 6 * * *", timezone=STOCKHOLM)

    # Saturday 28 March 2026 is CET (+01:00), Sunday 29 March CEST (+02:00).
    assert latest_due(six, utc(2026, 3, 28, 5, 30)) == utc(2026, 3, 28, 5, 0)
    assert latest_due(six, utc(2026, 3, 29, 4, 30)) == utc(2026, 3, 29, 4, 0)
    assert due_before(six, utc(2026, 3, 29, 4, 0)) == utc(2026, 3, 28, 5, 0)
    assert due_after(six, utc(2026, 3, 28, 5, 0)) == utc(2026, 3, 29, 4, 0)


def test_a_wall_time_the_spring_change_skips_is_due_on_the_old_offset() -> None:
    half_past_two = CronTrigger.from_crontab("30 2 * * *", timezone=STOCKHOLM)

    # 02:30 never happens on 29 March; 02:30 at +01:00 is 03:30 CEST.
    assert due_after(half_past_two, utc(2026, 3, 28, 1, 30)) == utc(2026, 3, 29, 1, 30)
    assert due_after(half_past_two, utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 30, 0, 30)


def test_a_wall_time_the_autumn_change_repeats_is_due_once() -> None:
    half_past_two = CronTrigger.from_crontab("30 2 * * *", timezone=STOCKHOLM)
    first = utc(2026, 10, 25, 0, 30)  # 02:30 CEST; 02:30 CET (01:30 UTC) comes an hour later

    assert latest_due(half_past_two, utc(2026, 10, 25, 1, 45)) == first
    assert due_after(half_past_two, first) == utc(2026, 10, 26, 1, 30)
    assert due_at_or_after(half_past_two, utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 26, 1, 30)
    assert due_before(half_past_two, utc(2026, 10, 26, 1, 30)) == first


def test_a_yearly_due_time_is_found_a_year_back() -> None:
    yearly = CronTrigger.from_crontab("0 9 2 1 *", timezone=STOCKHOLM)

    assert latest_due(yearly, utc(2026, 12, 31)) == utc(2026, 1, 2, 8, 0)


@settings(max_examples=60, deadline=None)
@given(
    cron=st.sampled_from(["*/7 * * * *", "15 2 * * *", "0 6 * * 1-5", "30 2 * * *", "0 */5 * * *"]),
    at=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
)
def test_latest_due_is_at_or_before_and_the_next_is_after(cron: str, at: dt.datetime) -> None:
    trigger = CronTrigger.from_crontab(cron, timezone=STOCKHOLM)
    moment = at.replace(tzinfo=dt.UTC)

    due = latest_due(trigger, moment)

    assert due is not None and due <= moment
    following = due_after(trigger, due)
    assert following is not None and following > moment
    assert due_before(trigger, following) == due


def _daily_files(days: range, skipped: int) -> list[dt.datetime]:
    """A daily export written at 05:50 UTC on each of `days` of November 2026 but one."""
    return [utc(2026, 11, day, 5, 50) for day in days if day != skipped]


def test_one_missed_day_is_missing_only_until_the_next_file() -> None:
    six = CronTrigger.from_crontab("0 6 * * *", timezone="UTC")
    hour = dt.timedelta(minutes=60)
    came = _daily_files(range(1, 10), skipped=5)

    missed = unmet(
        six, hour, [c for c in came if c < utc(2026, 11, 5, 7, 1)], utc(2026, 11, 5, 7, 1)
    )
    assert missed == Unmet(latest=utc(2026, 11, 5, 6, 0), first=utc(2026, 11, 5, 6, 0))
    for day in (6, 7, 9):
        at = utc(2026, 11, day, 7, 1)
        assert unmet(six, hour, [c for c in came if c < at], at) is None


def test_a_streak_of_missed_days_keeps_the_first_as_its_key() -> None:
    six = CronTrigger.from_crontab("0 6 * * *", timezone="UTC")
    hour = dt.timedelta(minutes=60)
    came = _daily_files(range(1, 5), skipped=0)  # the last came on the 4th

    for day in (5, 6, 9):
        missed = unmet(six, hour, came, utc(2026, 11, day, 7, 1))
        assert missed == Unmet(latest=utc(2026, 11, day, 6, 0), first=utc(2026, 11, 5, 6, 0))

    # Any file ends it, however late; one late after the 5th's deadline counts for the 6th.
    late = [*came, utc(2026, 11, 5, 20, 0)]
    assert unmet(six, hour, late, utc(2026, 11, 5, 20, 1)) is None
    assert unmet(six, hour, late, utc(2026, 11, 6, 7, 1)) is None
    again = unmet(six, hour, late, utc(2026, 11, 7, 7, 1))
    assert again == Unmet(latest=utc(2026, 11, 7, 6, 0), first=utc(2026, 11, 7, 6, 0))


def test_a_file_early_for_its_due_time_counts() -> None:
    six = CronTrigger.from_crontab("0 6 * * *", timezone="UTC")
    hour = dt.timedelta(minutes=60)

    # Came on the 4th at 08:00, after the 4th's deadline: early for the 5th.
    assert unmet(six, hour, [utc(2026, 11, 4, 8, 0)], utc(2026, 11, 5, 7, 1)) is None
    # Came at 07:00 sharp, the 4th's deadline: the 4th's, so the 5th is missing.
    missed = unmet(six, hour, [utc(2026, 11, 4, 7, 0)], utc(2026, 11, 5, 7, 1))
    assert missed is not None and missed.first == utc(2026, 11, 5, 6, 0)


def test_a_grace_longer_than_the_gap_between_due_times_still_counts_an_on_time_file() -> None:
    # Found by review: the deadline before 10:00 (09:00 + 90 min) fell after 10:00 itself, so
    # the file of 10:02 did not count and 10:00 was reported missing at 11:35.
    hourly = CronTrigger.from_crontab("0 * * * *", timezone="UTC")
    came = [utc(2026, 3, 2, hour, 2) for hour in range(11)]
    assert unmet(hourly, dt.timedelta(minutes=90), came, utc(2026, 3, 2, 11, 35)) is None
    # 11:00's file never came: missing once its 90 minutes are over, from 11:00 on.
    missed = unmet(hourly, dt.timedelta(minutes=90), came, utc(2026, 3, 2, 12, 31))
    assert missed is not None and missed.first == utc(2026, 3, 2, 11)

    daily = CronTrigger.from_crontab("0 6 * * *", timezone="UTC")
    files = [utc(2026, 3, day, 6, 5) for day in (1, 2, 3)]
    assert unmet(daily, dt.timedelta(hours=36), files, utc(2026, 3, 4, 18, 30)) is None

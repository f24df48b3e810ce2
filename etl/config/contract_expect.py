"""A feed contract's [expect] table: when the ERP's file is due, so its absence is noticed.

    [expect]
    cron = "0 6 * * 1-5"          # due at 06:00 on weekdays (crontab: minute hour day month weekday)
    grace_minutes = 60            # missing when no file came by 07:00
    timezone = "Europe/Stockholm" # the wall clock of `cron`; default: [format] time_zone

The due times are wall-clock times in the feed's zone, so a file due at 06:00 stays due at
06:00 local across a daylight-saving change (etl.console.due_times). A feed that reads
another feed's file (`source.from_feed`) takes no [expect]: the file is that feed's.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from etl.config.toml import Strict
from etl.dates import zone_problem
from etl.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

# A file a day late is missing, not late: a week of grace would hide a lost export.
MAX_GRACE_MINUTES = 7 * 24 * 60
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ExpectSpec(Strict):
    """When the feed's file is due: a crontab line and a grace period, in a time zone."""

    cron: str
    grace_minutes: float = Field(default=0.0, ge=0, le=MAX_GRACE_MINUTES)
    timezone: str | None = None  # IANA name; None: the contract's [format] time_zone

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        # APScheduler (and asyncio under it) here: only a contract with [expect] needs it.
        from apscheduler.triggers.cron import CronTrigger

        try:
            trigger = CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"bad crontab {value!r}: {exc} (five fields: minute hour day month weekday)"
            ) from exc
        # A date that never comes (30 February) would make every look for a due time scan
        # the calendar to its end: refused here, once.
        if trigger.get_next_fire_time(None, _EPOCH) is None:
            raise ValueError(f"bad crontab {value!r}: it never fires (a day the month never has?)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        problem = None if value is None else zone_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def zone(self, format_zone: str) -> zoneinfo.ZoneInfo:
        """The zone `cron` is read in: its own `timezone`, else the contract's [format] one."""
        return zoneinfo.ZoneInfo(self.timezone or format_zone)

    def trigger(self, format_zone: str) -> CronTrigger:
        """The due times as a CronTrigger on the wall clock of `zone`."""
        from apscheduler.triggers.cron import CronTrigger  # see _crontab

        return CronTrigger.from_crontab(self.cron, timezone=self.zone(format_zone))


def check_expect(expect: ExpectSpec | None, from_feed: str | None, source: str) -> None:
    """Refuse [expect] on a feed that reads another feed's file: the file is expected there."""
    if expect is not None and from_feed is not None:
        raise ConfigError(
            source,
            "expect",
            f"this feed reads the files of feed {from_feed!r} (source.from_feed): "
            "declare [expect] in that feed's contract",
        )

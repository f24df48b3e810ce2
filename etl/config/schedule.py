"""[schedule]: when the scheduler runs a feed or an ERP-file layout."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from etl.config.toml import Strict


class ScheduleSpec(Strict):
    """When the scheduler runs the feed: a crontab line or an interval."""

    cron: str | None = None
    interval_minutes: float | None = Field(default=None, gt=0)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is not None:
            # APScheduler (and asyncio under it) here: only a [schedule] with `cron` needs it.
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"bad crontab {value!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleSpec:
        if (self.cron is None) == (self.interval_minutes is None):
            raise ValueError("set exactly one of `cron` or `interval_minutes`")
        return self

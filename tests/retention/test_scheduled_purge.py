"""The scheduler purges by itself when the settings say when; its summary line is logged."""

from __future__ import annotations

import logging

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from etl.config.contract_files import load_contracts
from etl.config.settings import ArchiveSettings, Settings
from etl.runtime import Runtime
from etl.scheduler import add_purge_job
from tests.support.retention_people import where_she_rests
from tests.support.retention_seeding import ORDER_DAYS, PAST_ALL


def scheduled(settings: Settings, **when: object) -> Settings:
    archive = ArchiveSettings.model_validate({"orders_retention_days": ORDER_DAYS, **when})
    return settings.model_copy(update={"archive": archive})


def test_purge_every_hours_runs_the_whole_purge(
    seeded: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = scheduled(seeded, purge_every_hours=6)
    scheduler = BlockingScheduler(timezone="UTC")
    rt = Runtime.open(settings, clock=lambda: PAST_ALL, sleep=lambda s: None)
    try:
        assert add_purge_job(scheduler, rt, load_contracts(settings))
        [job] = scheduler.get_jobs()
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval.total_seconds() == 6 * 3600
        with caplog.at_level(logging.INFO, logger="etl.retention.purge"):
            job.func(*job.args)  # what the scheduler calls on the tick
    finally:
        rt.close()
    assert where_she_rests(seeded.home) == {}
    assert "purge removed: archive " in caplog.text
    assert "snapshots 1 rows" in caplog.text


def test_purge_at_is_a_daily_time_and_without_either_nothing_is_scheduled(
    seeded: Settings,
) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    rt = Runtime.open(scheduled(seeded, purge_at="03:30"))
    try:
        assert add_purge_job(scheduler, rt, {})
        [job] = scheduler.get_jobs()
        assert isinstance(job.trigger, CronTrigger)
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("3", "30")
    finally:
        rt.close()
    rt = Runtime.open(scheduled(seeded))
    try:
        assert not add_purge_job(BlockingScheduler(timezone="UTC"), rt, {})
    finally:
        rt.close()


@pytest.mark.parametrize(
    "when",
    [
        {"purge_at": "3:30"},
        {"purge_at": "24:00"},
        {"purge_every_hours": 0},
        {"purge_every_hours": 6, "purge_at": "03:30"},
    ],
)
def test_a_purge_schedule_that_cannot_be_meant_is_refused(when: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ArchiveSettings.model_validate(when)

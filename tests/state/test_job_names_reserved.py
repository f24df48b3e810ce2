"""A feed may not take the name of a job the scheduler or the workers run beside the feeds.

Feed jobs are named by their feed: a feed named `alerts` or `purge` would share its job id
with that job in APScheduler (refused at start) and, under workers, its task name and
queueing lock (one of the two never runs).
"""

from __future__ import annotations

import re
from pathlib import Path

from etl.alert_jobs import alerts_job
from etl.config.alert_settings import AlertSettings
from etl.config.contracts import FeedSpec
from etl.config.settings import ArchiveSettings, Settings
from etl.jobs import erp_jobs, purge_job
from etl.runtime import Runtime
from etl.state.areas import RESERVED_FEED_NAMES
from etl.worker.tasks import JOBS_HEARTBEAT

FEED_NAME = re.compile(FeedSpec.model_fields["name"].metadata[0].pattern)


def _other_jobs(home: Path) -> list[str]:
    """The names of every job that is not a feed's, as the scheduler and the workers add them."""
    settings = Settings(home=home, archive=ArchiveSettings(purge_every_hours=24))
    purge = purge_job(settings, {})
    assert purge is not None
    rt = Runtime.open(settings)
    try:
        erp = [job.name for job in erp_jobs(rt)]
    finally:
        rt.close()
    return [alerts_job({}, AlertSettings(), JOBS_HEARTBEAT).name, purge.name, *erp]


def test_every_job_name_a_feed_could_take_is_reserved(tmp_path: Path) -> None:
    could_collide = [name for name in _other_jobs(tmp_path) if FEED_NAME.fullmatch(name)]

    assert {"alerts", "purge"} <= set(could_collide)
    assert [name for name in could_collide if name not in RESERVED_FEED_NAMES] == []

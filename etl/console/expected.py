"""Expected files: a feed whose file is due ([expect]) and did not come is `missing`.

The feed is missing when, for the latest due time whose grace has passed, no file came
since the deadline before it (the due time before plus the grace; a file early for it
counts; etl.console.due_times.unmet). A file came when a run of the feed finished with it,
at the earlier of the run's start and the file's modification time
(etl.state.ledger.arrivals), or, when the ledger has none since, when a complete file the
feed has not taken yet waits in its folder now (the file is there, the feed just has not
run). Any file that comes ends it. A feed reading another feed's file (`from_feed`) has no
[expect]: the file is expected by the feed that picks it up.

While files are missing the problem keeps one key, that of the first due time missed since
the last file came, so one alert is sent however many due times pass, and one RESOLVED when
a file comes (docs/feed-contracts.md, "Expected files").
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import zoneinfo
from dataclasses import dataclass

from etl.config.contracts import FeedContract
from etl.console.due_times import unmet
from etl.console.problems import Problem
from etl.errors import TransportError
from etl.runtime import Runtime
from etl.state.ledger.arrivals import Arrivals


@dataclass(frozen=True)
class MissingFile:
    """A feed whose file did not come by its due time and grace."""

    feed: str
    due: dt.datetime  # the latest due time whose grace has passed, UTC
    # The first due time missed since the last file came (UTC); None: no file ever came.
    first_due: dt.datetime | None
    last_came: dt.datetime | None  # when the feed's latest file came, UTC
    cron: str
    grace_minutes: float
    zone: zoneinfo.ZoneInfo
    store: str
    folder: str
    pattern: str
    unlooked: str = ""  # why the folder could not be looked in, when it could not

    @property
    def since(self) -> dt.datetime:
        """When the file became missing: the first missed due time plus the grace."""
        return (self.first_due or self.due) + dt.timedelta(minutes=self.grace_minutes)


def missing_files(
    rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime
) -> list[MissingFile]:
    """Every feed with [expect] whose file is missing at `now`, in feed-name order."""
    arrivals = Arrivals(rt.ledger.at)
    try:
        found = (_missing(rt, arrivals, contracts[name], now) for name in sorted(contracts))
        return [m for m in found if m is not None]
    finally:
        arrivals.close()


def missing_problems(
    rt: Runtime, contracts: dict[str, FeedContract], now: dt.datetime
) -> list[Problem]:
    """One `missing_file` Problem per missing file, keyed by its first missed due time."""
    return [_problem(m) for m in missing_files(rt, contracts, now)]


def _missing(
    rt: Runtime, arrivals: Arrivals, contract: FeedContract, now: dt.datetime
) -> MissingFile | None:
    expect = contract.expect
    if expect is None:
        return None
    trigger = expect.trigger(contract.format.time_zone)
    grace = dt.timedelta(minutes=expect.grace_minutes)
    came = arrivals.recent(contract.name)
    missed = unmet(trigger, grace, came, now)
    if missed is None:
        return None
    waiting, unlooked = _waiting_in_folder(rt, contract)
    if waiting:
        # The file is there, the feed has not taken it yet: it came now, and a file since
        # the deadline before the latest due time is all the feed needs.
        return None
    source = contract.source
    return MissingFile(
        feed=contract.name,
        due=missed.latest,
        first_due=missed.first,
        last_came=came[-1] if came else None,
        cron=expect.cron,
        grace_minutes=expect.grace_minutes,
        zone=expect.zone(contract.format.time_zone),
        store=source.store,
        folder=source.folder,
        pattern=source.pattern,
        unlooked=unlooked,
    )


def _waiting_in_folder(rt: Runtime, contract: FeedContract) -> tuple[bool, str]:
    """Whether a complete file the feed has not taken waits in its folder; else why unknown.

    Complete as intake judges it without waiting: not a temp name, its done-marker there
    when the feed uses one (a file still being written under `stable` counts: it is there).
    """
    source = contract.source
    try:
        listing = rt.store(source.store).list(source.folder)
    except TransportError as exc:
        return False, f"could not look in the folder: {exc}"
    names = {f.name for f in listing}
    for f in listing:
        if not fnmatch.fnmatchcase(f.name, source.pattern):
            continue
        if f.name.startswith(".") or f.name.endswith(source.temp_suffixes):
            continue
        marker = source.done_marker.format(name=f.name, stem=f.name.rsplit(".", 1)[0])
        if source.ready == "done_marker" and marker not in names:
            continue
        if rt.ledger.known_listing(contract.name, f.path, f.size, f.mtime) is None:
            return True, ""
    return False, ""


def _problem(m: MissingFile) -> Problem:
    key_time = m.first_due.isoformat(timespec="seconds") if m.first_due else "no-file-yet"
    last = f"the last came {_local(m.last_came, m.zone)}" if m.last_came else "none ever came"
    unlooked = f"; {m.unlooked}" if m.unlooked else ""
    return Problem(
        key=f"missing:{m.feed}:{key_time}",
        kind="missing_file",
        subject=f"feed {m.feed}",
        what=(
            f"no file due {_local(m.due, m.zone)} came within {m.grace_minutes:g} "
            f"min (due '{m.cron}' in {m.zone.key}); {last}{unlooked}"
        ),
        did="nothing to do yet: the feed takes the file when it comes, and this ends then",
        command=(
            f"look for the ERP's export: store {m.store!r}, folder {m.folder!r}, "
            f"files matching {m.pattern!r}"
        ),
        since=m.since.isoformat(timespec="seconds"),
    )


def _local(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"

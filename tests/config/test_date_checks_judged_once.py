"""The contracts' date checks (etl.dates) are judged once per distinct format, list or zone.

Each check runs polars on one-row series; the contracts repeat the same default formats and
zone, so the answer is kept per process. Kept or freshly judged, the answer is the same.
"""

from __future__ import annotations

import pytest

from etl.dates import ambiguity, format_problem, zone_problem

FORMATS = [
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%Y%m%d",
    "%d/%m/%y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%#z",
    "%d/%m/%Y %H:%M",
    "%H:%M",  # no date in it: read as year 1
    "%Y",  # no whole date
    "%Q",  # not a directive
    "plain text",
    "",
]
LISTS = [
    ("%d/%m/%Y", "%m/%d/%Y"),
    ("%Y-%m-%d", "%d.%m.%Y"),
    ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%#z", "%d/%m/%Y %H:%M"),
    ("%d/%m/%y", "%d/%m/%Y"),
    ("%Y-%m-%d",),
]
ZONES = ["Europe/Stockholm", "UTC", "America/New_York", "Mars/Olympus_Mons", "../etc", ""]


@pytest.mark.parametrize("with_time", [False, True])
def test_a_format_kept_is_judged_as_it_is_fresh(with_time: bool) -> None:
    for fmt in FORMATS:
        fresh = format_problem.__wrapped__(fmt, with_time)
        assert format_problem(fmt, with_time) == fresh, fmt
        assert format_problem(fmt, with_time) == fresh, fmt  # the kept answer
    assert any(format_problem(f, with_time) is None for f in FORMATS)
    assert any(format_problem(f, with_time) is not None for f in FORMATS)


@pytest.mark.parametrize("with_time", [False, True])
def test_a_list_kept_is_judged_as_it_is_fresh(with_time: bool) -> None:
    for formats in LISTS:
        fresh = ambiguity.__wrapped__(formats, with_time)
        assert ambiguity(formats, with_time) == fresh, formats
        assert ambiguity(formats, with_time) == fresh, formats
    assert ambiguity(("%d/%m/%Y", "%m/%d/%Y"), with_time) is not None


def test_a_zone_kept_is_judged_as_it_is_fresh() -> None:
    for zone in ZONES:
        fresh = zone_problem.__wrapped__(zone)
        assert zone_problem(zone) == fresh, zone
        assert zone_problem(zone) == fresh, zone
    assert zone_problem("Europe/Stockholm") is None
    assert zone_problem("Mars/Olympus_Mons") is not None

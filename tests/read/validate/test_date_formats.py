"""Several accepted formats for one date field, tried in order: the first that reads it wins.

WooCommerce writes a sale's start as `2017-01-01` on one row and `2030-01-01 0:00:00` on the
next, in the same column; a contract lists both formats instead of refusing half the rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.errors import ConfigError
from tests.fixtures.feeds import rejections
from tests.support.date_feeds import (
    STOCK_HEADER,
    STOCKHOLM,
    messages,
    product_contract,
    products,
    run,
    stock_contract,
)

UTC = dt.UTC
WOO = '[format.field_formats]\nstart_date = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]'


def test_one_column_with_dates_and_date_times_reads_every_row(tmp_path: Path) -> None:
    validated = products(tmp_path, WOO, ["2017-01-01", "2030-01-01 0:00:00", "2030-06-01 13:05:00"])

    assert rejections(validated) == []
    assert validated.valid["start_date"].to_list() == [
        dt.datetime(2017, 1, 1, tzinfo=UTC),
        dt.datetime(2030, 1, 1, tzinfo=UTC),
        dt.datetime(2030, 6, 1, 13, 5, tzinfo=UTC),
    ]


def test_the_first_format_that_reads_a_cell_wins(tmp_path: Path) -> None:
    fmt = 'date_format = ["%d/%m/%Y", "%Y%m%d"]'
    rows = ["P1;MAIN;A1;1;03/04/2026", "P2;MAIN;A1;1;20261231"]

    validated = run(tmp_path, stock_contract(tmp_path, fmt), STOCK_HEADER, rows)

    assert validated.valid["next_delivery_date"].to_list() == [
        dt.date(2026, 4, 3),  # the first format read it
        dt.date(2026, 12, 31),  # only the second one can
    ]


TWO_DIGIT_YEARS = 'date_format = ["%d/%m/%Y", "%d/%m/%y"]'


def test_a_two_digit_year_is_left_to_the_format_that_reads_two_digits(tmp_path: Path) -> None:
    # chrono's %Y takes "26" as the year 26; that read must not win over %y.
    rows = ["P1;MAIN;A1;1;03/04/2026", "P2;MAIN;A1;1;03/04/26"]

    validated = run(tmp_path, stock_contract(tmp_path, TWO_DIGIT_YEARS), STOCK_HEADER, rows)

    assert rejections(validated) == []
    assert validated.valid["next_delivery_date"].to_list() == [dt.date(2026, 4, 3)] * 2


def test_a_two_digit_year_in_a_date_time_list_reaches_its_format(tmp_path: Path) -> None:
    fmt = 'datetime_format = ["%d.%m.%Y %H:%M", "%d.%m.%y %H:%M"]'

    validated = products(tmp_path, fmt, ["03.04.26 13:05", "03.04.2026 13:05"])

    assert (
        validated.valid["start_date"].to_list() == [dt.datetime(2026, 4, 3, 13, 5, tzinfo=UTC)] * 2
    )


@pytest.mark.parametrize(
    ("fmt", "cell"),
    [('date_format = "%d/%m/%Y"', "03/04/26"), ('date_format = "%d/%m/%Y"', "03/04/0026")],
)
def test_a_year_no_export_means_is_refused_saying_so(tmp_path: Path, fmt: str, cell: str) -> None:
    validated = run(tmp_path, stock_contract(tmp_path, fmt), STOCK_HEADER, [f"P1;MAIN;A1;1;{cell}"])

    assert rejections(validated) == [(2, "next_delivery_date", "Due", "type")]
    [message] = messages(validated)
    assert message.startswith(f"{cell!r} is read as the year 26")
    assert "20/11/2026" in message


def test_an_implausible_date_time_year_is_refused_saying_so(tmp_path: Path) -> None:
    validated = products(tmp_path, 'datetime_format = "%d.%m.%Y %H:%M"', ["03.04.26 13:05"])

    [message] = messages(validated)
    assert message.startswith("'03.04.26 13:05' is read as the year 26")


AMBIGUOUS_LISTS = {
    "dates": (
        'date_format = ["%d/%m/%Y", "%m/%d/%Y"]',
        "format.date_format[1]",
        "03/04/2026 would be read by [0] %d/%m/%Y as 2026-04-03",
    ),
    "date-times": (
        'datetime_format = ["%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"]',
        "format.datetime_format[1]",
        "03/04/2026 13:05:06 would be read by [0] %d/%m/%Y %H:%M:%S as 2026-04-03 13:05:06",
    ),
    "a field's own": (
        '[format.field_formats]\nstart_date = ["%Y-%m-%d", "%d.%m.%Y %H:%M", "%m.%d.%Y %H:%M"]',
        "format.field_formats.start_date[2]",
        "03.04.2026 13:05 would be read by [1] %d.%m.%Y %H:%M as 2026-04-03 13:05:00",
    ),
}


@pytest.mark.parametrize(("fmt", "key", "words"), AMBIGUOUS_LISTS.values(), ids=AMBIGUOUS_LISTS)
def test_a_list_that_reads_day_and_month_both_ways_is_refused_at_start(
    tmp_path: Path, fmt: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        product_contract(tmp_path, fmt)

    assert caught.value.key == key
    assert words in caught.value.problem
    assert "a list may not hold formats that read the same text two ways" in caught.value.problem


@pytest.mark.parametrize(
    "fmt",
    [TWO_DIGIT_YEARS, WOO, 'date_format = ["%Y-%m-%d", "%d.%m.%Y", "%Y%m%d"]'],
    ids=["two-digit years", "date or date-time", "unrelated shapes"],
)
def test_lists_that_cannot_read_a_text_two_ways_are_taken(tmp_path: Path, fmt: str) -> None:
    assert product_contract(tmp_path, fmt).format is not None


def test_a_list_for_every_date_time_field_keeps_the_feeds_time_zone(tmp_path: Path) -> None:
    fmt = f'{STOCKHOLM}\ndatetime_format = ["%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%d %H:%M"]'

    validated = products(tmp_path, fmt, ["2026-06-01T00:00:00+00:00", "2026-06-01 00:00"])

    assert validated.valid["start_date"].to_list() == [
        dt.datetime(2026, 6, 1, 0, tzinfo=UTC),  # its own offset
        dt.datetime(2026, 5, 31, 22, tzinfo=UTC),  # Stockholm summer time
    ]


def test_a_cell_no_format_reads_is_refused_naming_every_format(tmp_path: Path) -> None:
    validated = products(tmp_path, f"{STOCKHOLM}\n{WOO}", ["01/01/2030"])

    assert rejections(validated) == [(2, "start_date", "Start", "type")]
    assert messages(validated) == [
        "'01/01/2030' is not a date and time written like 2026-11-20 14:30:45 or 2026-11-20 "
        "(local time in Europe/Stockholm)"
    ]


def test_a_daylight_saving_gap_is_still_named_as_such(tmp_path: Path) -> None:
    validated = products(tmp_path, f"{STOCKHOLM}\n{WOO}", ["2026-03-29 02:30:00"])

    [message] = messages(validated)
    assert message.startswith("'2026-03-29 02:30:00' does not exist in Europe/Stockholm")


BAD = {
    "field format": (
        '[format.field_formats]\nstart_date = ["%Y-%m-%d", "%H:%M"]',
        "format.field_formats.start_date[1]",
        "does not read a whole date back",
    ),
    "date-time format": (
        'datetime_format = ["%Y-%m-%dT%H:%M:%S", "%Q"]',
        "format.datetime_format[1]",
        "not a usable strftime format",
    ),
    "date format": ('date_format = ["date"]', "format.date_format[0]", "'date'"),
    "empty list": ("date_format = []", "format.date_format", "at least one format"),
}


@pytest.mark.parametrize(("fmt", "key", "words"), BAD.values(), ids=BAD.keys())
def test_each_format_of_a_list_is_checked_at_start(
    tmp_path: Path, fmt: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        product_contract(tmp_path, fmt)

    assert caught.value.key == key
    assert words in caught.value.problem

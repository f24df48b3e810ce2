"""Dates and date-times per feed and per field: formats, the ERP's time zone, DST, messages."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from etl.config.contract_format import FormatSpec
from etl.errors import ConfigError
from tests.fixtures.feeds import contract_from, rejections
from tests.support.date_feeds import (
    PRODUCT_HEADER,
    STOCK_HEADER,
    STOCKHOLM,
    messages,
    product_contract,
    products,
    run,
    stock_contract,
)
from tests.support.paths import REPO

UTC = dt.UTC


def test_local_times_are_read_in_the_feeds_zone_and_kept_in_utc(tmp_path: Path) -> None:
    validated = products(
        tmp_path,
        STOCKHOLM,
        ["2026-06-01T00:00:00", "2026-01-15T08:00:00", "2026-03-29T03:00:00"],
    )

    assert rejections(validated) == []
    assert validated.valid["start_date"].to_list() == [
        dt.datetime(2026, 5, 31, 22, 0, tzinfo=UTC),  # summer time: UTC+2
        dt.datetime(2026, 1, 15, 7, 0, tzinfo=UTC),  # winter time: UTC+1
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # first hour after the spring jump
    ]
    assert str(validated.valid.schema["start_date"]) == "Datetime(time_unit='us', time_zone='UTC')"


def test_without_a_time_zone_local_times_are_utc(tmp_path: Path) -> None:
    validated = products(tmp_path, "", ["2026-06-01T12:00:00"])

    assert validated.valid["start_date"].to_list() == [dt.datetime(2026, 6, 1, 12, tzinfo=UTC)]


def test_a_time_the_spring_change_skips_is_refused_not_shifted(tmp_path: Path) -> None:
    # 29 March 2026: clocks in Stockholm go from 02:00 straight to 03:00.
    validated = products(tmp_path, STOCKHOLM, ["2026-03-29T02:30:00", "2026-03-29T01:59:59"])

    assert rejections(validated) == [(2, "start_date", "Start", "type")]
    assert messages(validated) == [
        "'2026-03-29T02:30:00' does not exist in Europe/Stockholm: the clocks skip that hour "
        "when daylight saving time starts, so Date and time the SKU becomes available "
        "(Norce StartDate) cannot be placed; check the time in the ERP"
    ]
    assert validated.valid["start_date"].to_list() == [
        dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)
    ]


def test_a_time_the_autumn_change_repeats_is_refused_not_guessed(tmp_path: Path) -> None:
    # 25 October 2026: clocks in Stockholm go from 03:00 back to 02:00, so 02:30 comes twice.
    validated = products(tmp_path, STOCKHOLM, ["2026-10-25T02:30:00", "2026-10-25T03:30:00"])

    assert rejections(validated) == [(2, "start_date", "Start", "type")]
    (message,) = messages(validated)
    assert message.startswith("'2026-10-25T02:30:00' happens twice in Europe/Stockholm")
    assert "write the time with its UTC offset" in message
    assert validated.valid["start_date"].to_list() == [dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)]


def test_the_same_times_are_fine_in_a_zone_without_daylight_saving(tmp_path: Path) -> None:
    validated = products(
        tmp_path, 'time_zone = "UTC"', ["2026-03-29T02:30:00", "2026-10-25T02:30:00"]
    )

    assert rejections(validated) == []


OFFSETS = 'time_zone = "Asia/Tokyo"\ndatetime_format = "%Y-%m-%dT%H:%M:%S%#z"'


def test_an_offset_in_the_text_decides_and_the_feeds_zone_plays_no_part(tmp_path: Path) -> None:
    validated = products(
        tmp_path,
        OFFSETS,
        [
            "2026-06-01T12:00:00+02:00",
            "2026-06-01T12:00:00Z",
            "2026-06-01T12:00:00-0530",
            "2026-10-25T02:30:00+01:00",  # the second 02:30 in Stockholm: no ambiguity left
        ],
    )

    assert rejections(validated) == []
    assert validated.valid["start_date"].to_list() == [
        dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 1, 17, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]


def test_a_format_with_an_offset_needs_one_in_every_cell(tmp_path: Path) -> None:
    validated = products(tmp_path, OFFSETS, ["2026-06-01T12:00:00"])

    assert rejections(validated) == [(2, "start_date", "Start", "type")]
    assert messages(validated) == [
        "'2026-06-01T12:00:00' is not a date and time written like 2026-11-20T14:30:45+09:00 "
        "(its UTC offset included)"
    ]


def test_a_bad_date_time_is_explained_in_its_own_format_and_zone(tmp_path: Path) -> None:
    fmt = f'{STOCKHOLM}\ndatetime_format = "%d.%m.%Y %H:%M"'
    validated = products(
        tmp_path, fmt, ["2026-06-01T12:00:00", "01.06.2026 25:00", "1.6.2026 12:00"]
    )

    assert rejections(validated) == [
        (2, "start_date", "Start", "type"),
        (3, "start_date", "Start", "type"),
    ]
    assert messages(validated) == [
        f"{value!r} is not a date and time written like 20.11.2026 14:30 "
        "(local time in Europe/Stockholm)"
        for value in ("2026-06-01T12:00:00", "01.06.2026 25:00")
    ]
    assert validated.valid["start_date"].to_list() == [dt.datetime(2026, 6, 1, 10, tzinfo=UTC)]


def test_a_field_format_overrides_the_feeds_format_for_that_field_only(tmp_path: Path) -> None:
    fmt = f'{STOCKHOLM}\n[format.field_formats]\nstop_date = "%Y-%m-%d"'
    contract = product_contract(tmp_path, fmt)
    rows = [
        "P1;ACME;Glove;2026-06-01T08:00:00;2026-12-31",
        "P2;ACME;Glove;2026-06-01;2026-12-31T00:00:00",
    ]

    validated = run(tmp_path, contract, PRODUCT_HEADER, rows)

    assert validated.valid.select("start_date", "stop_date").rows() == [
        (
            dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC),
            dt.datetime(2026, 12, 30, 23, 0, tzinfo=UTC),  # a date alone: midnight, local
        )
    ]
    assert rejections(validated) == [
        (3, "start_date", "Start", "type"),
        (3, "stop_date", "Stop", "type"),
    ]
    assert messages(validated) == [
        "'2026-06-01' is not a date and time written like 2026-11-20T14:30:45 "
        "(local time in Europe/Stockholm)",
        "'2026-12-31T00:00:00' is not a date and time written like 2026-11-20 "
        "(local time in Europe/Stockholm)",
    ]


def test_a_date_field_takes_its_own_format_and_no_time_zone(tmp_path: Path) -> None:
    fmt = (
        'time_zone = "Pacific/Kiritimati"\n[format.field_formats]\nnext_delivery_date = "%d.%m.%Y"'
    )
    contract = stock_contract(tmp_path, fmt)

    validated = run(tmp_path, contract, STOCK_HEADER, ["A;W;L;1;01.12.2026", "B;W;L;1;2026-12-01"])

    assert validated.valid["next_delivery_date"].to_list() == [dt.date(2026, 12, 1)]
    assert rejections(validated) == [(3, "next_delivery_date", "Due", "type")]
    assert messages(validated) == ["'2026-12-01' is not a date written like 20.11.2026"]


def test_a_default_date_time_is_read_like_a_cell(tmp_path: Path) -> None:
    text = (
        '[feed]\nentity = "product"\n[format]\ntype = "csv"\ndelimiter = ";"\n'
        f'{STOCKHOLM}\n[columns]\n"Art" = "part_no"\n"Brand" = "manufacturer_code"\n'
        '"Name" = "name"\n[defaults]\nstart_date = "2026-01-01T00:00:00"\n'
    )
    contract = contract_from(text, tmp_path, "products")

    validated = run(tmp_path, contract, "Art;Brand;Name", ["P1;ACME;Glove"])

    assert validated.valid["start_date"].to_list() == [dt.datetime(2025, 12, 31, 23, tzinfo=UTC)]


# (format lines, key the error must name, words the problem must contain)
BAD_FORMATS = {
    "field format for a text field": (
        '[format.field_formats]\nname = "%Y-%m-%d"',
        "format.field_formats.name",
        "not a date or date-time field of product (those are: start_date, stop_date)",
    ),
    "field format for an unknown field": (
        '[format.field_formats]\nlaunch = "%Y-%m-%d"',
        "format.field_formats.launch",
        "not a date or date-time field",
    ),
    "field format that is not a format": (
        '[format.field_formats]\nstart_date = "%Q"',
        "format.field_formats.start_date",
        "not a usable strftime format",
    ),
    "field format without a date": (
        '[format.field_formats]\nstop_date = "%H:%M"',
        "format.field_formats.stop_date",
        "does not read a whole date back",
    ),
    "date-time format without a date": (
        'datetime_format = "%H:%M:%S"',
        "format.datetime_format",
        "'14:30:45'",
    ),
    "date format that is plain text": ('date_format = "date"', "format.date_format", "'date'"),
    "unknown time zone": ('time_zone = "Europe/Stokholm"', "format.time_zone", "Europe/Stokholm"),
    "time zone only this machine knows": ('time_zone = "localtime"', "format.time_zone", "IANA"),
}


@pytest.mark.parametrize(("fmt", "key", "words"), BAD_FORMATS.values(), ids=BAD_FORMATS.keys())
def test_a_bad_date_setting_names_its_key(tmp_path: Path, fmt: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        product_contract(tmp_path, fmt)

    assert caught.value.key == key
    assert words in caught.value.problem


def test_an_onhand_field_format_is_checked_against_onhand(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        stock_contract(tmp_path, '[format.field_formats]\nstart_date = "%Y-%m-%d"')

    assert caught.value.key == "format.field_formats.start_date"
    assert "(those are: next_delivery_date)" in caught.value.problem


def test_the_date_keys_are_in_the_docs_contract_example() -> None:
    page = (REPO / "docs" / "feed-contracts.md").read_text(encoding="utf-8")
    section = page.split("## The contract file", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml", 1)[1].split("```", 1)[0]
    fmt = example.split("\n[format]\n", 1)[1].split("\n[columns]", 1)[0]
    keys = set(re.findall(r"^([a-z_]+) = ", fmt, flags=re.M))
    keys |= set(re.findall(r"^\[format\.([a-z_]+)\]", fmt, flags=re.M))

    assert {"date_format", "datetime_format", "time_zone", "field_formats"} <= keys
    assert {"date_format", "datetime_format", "time_zone", "field_formats"} <= set(
        FormatSpec.model_fields
    )

"""[expect] in a feed contract: loads with its zone; a bad one is a ConfigError naming file and key."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest

from etl.config.contract_files import load_contract, load_contracts
from etl.config.settings import Settings
from etl.errors import ConfigError
from tests.support.paths import SCHEMAS


def _schemas(tmp_path: Path, expect: str, contract: str = "products") -> Path:
    """The shipped contracts, with `expect` appended to `contract`."""
    folder = tmp_path / "schemas"
    folder.mkdir()
    for path in SCHEMAS.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == contract:
            text += f"\n[expect]\n{expect}\n"
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


def test_expect_loads_and_reads_cron_on_its_own_zone(tmp_path: Path) -> None:
    folder = _schemas(
        tmp_path, 'cron = "0 6 * * 1-5"\ngrace_minutes = 45\ntimezone = "Europe/Stockholm"'
    )

    expect = load_contracts(Settings(schemas_dir=folder))["products"].expect

    assert expect is not None
    assert (expect.cron, expect.grace_minutes) == ("0 6 * * 1-5", 45)
    assert expect.zone("UTC") == zoneinfo.ZoneInfo("Europe/Stockholm")
    assert expect.trigger("UTC").timezone == zoneinfo.ZoneInfo("Europe/Stockholm")


def test_expect_without_a_zone_takes_the_format_time_zone(tmp_path: Path) -> None:
    folder = _schemas(tmp_path, 'cron = "30 5 * * *"', contract="order_status")

    contract = load_contracts(Settings(schemas_dir=folder))["order_status"]

    assert contract.format.time_zone == "Europe/Stockholm"
    assert contract.expect is not None and contract.expect.grace_minutes == 0
    assert contract.expect.zone(contract.format.time_zone).key == "Europe/Stockholm"


def test_no_expect_by_default() -> None:
    contracts = load_contracts(Settings(schemas_dir=SCHEMAS))
    assert all(c.expect is None for c in contracts.values())


@pytest.mark.parametrize(
    ("expect", "key", "words"),
    [
        ('cron = "61 6 * * *"', "expect.cron", "bad crontab '61 6 * * *'"),
        ('cron = "0 6 * *"', "expect.cron", "five fields"),
        ('cron = "0 6 30 2 *"', "expect.cron", "it never fires"),
        ('cron = "0 6 * * *"\ngrace_minutes = -5', "expect.grace_minutes", "greater than"),
        ('cron = "0 6 * * *"\ngrace_minutes = "an hour"', "expect.grace_minutes", "number"),
        ('cron = "0 6 * * *"\ngrace_minutes = 20000', "expect.grace_minutes", "less than"),
        (
            'cron = "0 6 * * *"\ntimezone = "Europe/Stokholm"',
            "expect.timezone",
            "unknown time zone",
        ),
        ("grace_minutes = 30", "expect.cron", "Field required"),
        ('cron = "0 6 * * *"\ndue = "06:00"', "expect.due", "Extra inputs"),
    ],
)
def test_a_bad_expect_names_the_file_and_key(
    tmp_path: Path, expect: str, key: str, words: str
) -> None:
    folder = _schemas(tmp_path, expect)

    with pytest.raises(ConfigError) as caught:
        load_contract(folder / "products.toml", Settings(schemas_dir=folder))

    assert caught.value.source == str(folder / "products.toml")
    assert caught.value.key == key
    assert words in caught.value.problem


def test_expect_on_a_feed_reading_another_feeds_file_is_refused(tmp_path: Path) -> None:
    folder = _schemas(tmp_path, 'cron = "0 6 * * *"', contract="companies")

    with pytest.raises(ConfigError) as caught:
        load_contracts(Settings(schemas_dir=folder))

    assert caught.value.source == str(folder / "companies.toml")
    assert caught.value.key == "expect"
    assert "'customers'" in caught.value.problem

"""Expected files: a feed whose file did not come by its due time and grace is `missing`.

Real runs of the shipped products feed on a local ERP folder, a real ledger, a clock the
test sets; the due time is 06:00 in Stockholm with 30 minutes' grace.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import load_settings
from etl.console.expected import MissingFile, missing_files, missing_problems
from etl.runtime import Runtime
from etl.to_norce.run import run_feed
from tests.support.paths import SAMPLES, SCHEMAS

SAMPLE = SAMPLES / "products" / "products_20261120.csv"
EXPECT = '[expect]\ncron = "0 6 * * *"\ngrace_minutes = 30\ntimezone = "Europe/Stockholm"\n'


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


class Clock:
    """The runtime's clock, set by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Desk:
    """A home with the products feed expecting its file, its ERP folder, a runtime."""

    def __init__(self, tmp_path: Path, root: Path | None = None) -> None:
        self.erp = tmp_path / "erp"
        (self.erp / "products").mkdir(parents=True)
        home = tmp_path / "home"
        (home / "schemas").mkdir(parents=True)
        contract = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
        (home / "schemas" / "products.toml").write_text(f"{contract}\n{EXPECT}", encoding="utf-8")
        (home / "etl.toml").write_text(
            f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{root or self.erp}"\n',
            encoding="utf-8",
        )
        settings = load_settings(home / "etl.toml", {})
        self.contracts: dict[str, FeedContract] = load_contracts(settings)
        self.clock = Clock(utc(2026, 11, 1))
        self.rt = Runtime.open(settings, clock=self.clock, sleep=lambda _s: None)

    def drop(self, name: str, written: dt.datetime) -> Path:
        """The sample export in the ERP's folder as `name`, written at `written`."""
        path = self.erp / "products" / name
        shutil.copyfile(SAMPLE, path)
        os.utime(path, (written.timestamp(), written.timestamp()))
        return path

    def take(self, at: dt.datetime, outcome: str = "committed duplicate") -> None:
        """A run of the feed at `at`: it takes what is in the folder, ending as `outcome`."""
        self.clock.now = at
        outcomes = run_feed(self.rt, self.contracts["products"])
        assert outcomes and all(o.outcome in outcome.split() for o in outcomes)

    def missing(self, at: dt.datetime) -> list[MissingFile]:
        return missing_files(self.rt, self.contracts, at)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.rt.close()


def test_a_feed_that_never_had_a_file_is_missing_under_one_key(desk: Desk) -> None:
    [first] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    [later] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 24, 5, 31))

    assert first.key == later.key == "missing:products:no-file-yet"
    assert first.kind == "missing_file" and first.subject == "feed products"
    assert first.what.startswith("no file due 2026-11-22 06:00 CET came within 30 min")
    assert "none ever came" in first.what
    assert first.command == (
        "look for the ERP's export: store 'erp', folder 'products', files matching 'products_*.csv'"
    )


def test_the_days_file_is_missing_only_once_due_and_grace_have_passed(desk: Desk) -> None:
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 5, 10))

    assert desk.missing(utc(2026, 11, 22, 5, 29)) == []  # Sunday 06:29 in Stockholm
    [missing] = desk.missing(utc(2026, 11, 22, 5, 31))
    assert missing.due == missing.first_due == utc(2026, 11, 22, 5, 0)
    assert missing.last_came == utc(2026, 11, 21, 4, 50)  # written before the run took it
    assert missing.since == utc(2026, 11, 22, 5, 30)


def test_a_file_that_came_in_the_grace_of_the_day_before_is_not_todays(desk: Desk) -> None:
    # Saturday's file came at 06:20, inside Saturday's grace: it is Saturday's file.
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 5, 20))
    desk.take(utc(2026, 11, 21, 5, 20))

    [missing] = desk.missing(utc(2026, 11, 22, 5, 31))

    assert missing.first_due == utc(2026, 11, 22, 5, 0)


def test_a_file_polled_late_counts_from_when_it_was_written(desk: Desk) -> None:
    # Written at 05:50 on Saturday, taken by an hourly poll at 06:50: Saturday's file, so
    # Sunday's is still missing.
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 5, 50))

    assert [m.due for m in desk.missing(utc(2026, 11, 22, 5, 31))] == [utc(2026, 11, 22, 5, 0)]


def test_a_rejected_file_came_all_the_same(desk: Desk) -> None:
    path = desk.erp / "products" / "products_20261122.csv"
    path.write_text("not;the;columns\n1;2;3\n", encoding="cp1252")
    os.utime(path, (utc(2026, 11, 22, 5, 0).timestamp(),) * 2)
    desk.take(utc(2026, 11, 22, 5, 10), outcome="rejected")

    assert desk.missing(utc(2026, 11, 22, 5, 31)) == []


def test_a_file_waiting_in_the_folder_is_not_missing_a_half_written_one_is(desk: Desk) -> None:
    at = utc(2026, 11, 22, 5, 31)
    part = desk.drop("products_20261122.csv.part", utc(2026, 11, 22, 5, 20))

    assert [m.feed for m in desk.missing(at)] == ["products"]
    part.rename(part.with_suffix(""))
    assert desk.missing(at) == []


def test_missing_keeps_its_key_until_a_late_file_resolves_it(desk: Desk) -> None:
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 5, 0))
    [sunday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    [still] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 23, 0))
    assert sunday.key == still.key == "missing:products:2026-11-22T05:00:00+00:00"
    assert sunday.since == still.since == "2026-11-22T05:30:00+00:00"

    desk.drop("products_20261122.csv", utc(2026, 11, 22, 23, 10))  # late, but it came
    desk.take(utc(2026, 11, 22, 23, 15))

    assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 23, 16)) == []
    assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 5, 29)) == []
    [monday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 5, 31))
    assert monday.key == "missing:products:2026-11-23T05:00:00+00:00"


def test_each_due_time_needs_its_own_file(desk: Desk) -> None:
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 5, 0))
    [sunday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    [monday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 5, 31))
    assert sunday.key == monday.key == "missing:products:2026-11-22T05:00:00+00:00"
    assert "due 2026-11-23 06:00 CET" in monday.what

    # One file comes on Monday, late: Sunday's is resolved, Monday's is still missing.
    desk.drop("products_20261123.csv", utc(2026, 11, 23, 7, 0))
    desk.take(utc(2026, 11, 23, 7, 5))
    [after_one] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 7, 6))
    assert after_one.key == "missing:products:2026-11-23T05:00:00+00:00"
    assert "the last came 2026-11-23 08:00 CET" in after_one.what

    desk.drop("products_20261123b.csv", utc(2026, 11, 23, 8, 0))
    desk.take(utc(2026, 11, 23, 8, 5))
    assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 8, 6)) == []


def test_the_due_time_follows_stockholms_clock_across_the_spring_change(desk: Desk) -> None:
    # Saturday 28 March 06:00 CET is 05:00 UTC; Sunday 29 March 06:00 CEST is 04:00 UTC.
    desk.drop("products_20260328.csv", utc(2026, 3, 28, 5, 10))
    desk.take(utc(2026, 3, 28, 5, 10))

    assert desk.missing(utc(2026, 3, 29, 4, 29)) == []
    [missing] = desk.missing(utc(2026, 3, 29, 4, 31))
    assert missing.due == utc(2026, 3, 29, 4, 0)
    [problem] = missing_problems(desk.rt, desk.contracts, utc(2026, 3, 29, 4, 31))
    assert "due 2026-03-29 06:00 CEST" in problem.what


def test_a_folder_that_cannot_be_looked_in_says_so(tmp_path: Path) -> None:
    desk = Desk(tmp_path, root=tmp_path / "gone")
    try:
        [problem] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    finally:
        desk.rt.close()

    assert "could not look in the folder" in problem.what


def test_a_feed_without_expect_is_never_missing(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    try:
        plain = {name: c.model_copy(update={"expect": None}) for name, c in desk.contracts.items()}
        assert missing_files(desk.rt, plain, utc(2026, 11, 22, 5, 31)) == []
    finally:
        desk.rt.close()

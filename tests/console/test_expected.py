"""Expected files: a feed whose file did not come by its due time and grace is `missing`.

Real runs of the shipped products feed on a local ERP folder, a real ledger, a clock the
test sets; the due time is 06:00 in Stockholm with 30 minutes' grace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.console.expected import missing_files, missing_problems
from etl.to_norce.replay import find_archived, queue_replay
from tests.support.expected_desk import Desk, utc


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
    # It came after Sunday's deadline, so it is early for Monday too: Monday is not missing.
    assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, 23, 5, 31)) == []
    [tuesday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 24, 5, 31))
    assert tuesday.key == "missing:products:2026-11-24T05:00:00+00:00"


def test_one_missed_day_is_missing_only_until_the_next_file(desk: Desk) -> None:
    # The nightly export comes at 05:50 in Stockholm (04:50 UTC) every day but Sunday 22nd.
    for day in (20, 21):
        desk.drop(f"products_202611{day}.csv", utc(2026, 11, day, 4, 50))
        desk.take(utc(2026, 11, day, 4, 55))
    [sunday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    assert sunday.key == "missing:products:2026-11-22T05:00:00+00:00"

    for day in (23, 24, 25):
        desk.drop(f"products_202611{day}.csv", utc(2026, 11, day, 4, 50))
        desk.take(utc(2026, 11, day, 4, 55))
        assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, day, 5, 31)) == []
        assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, day, 23, 0)) == []


def test_a_streak_of_missed_days_is_one_problem_that_any_file_ends(desk: Desk) -> None:
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 5, 0))
    [sunday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))
    [tuesday] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 24, 5, 31))
    assert sunday.key == tuesday.key == "missing:products:2026-11-22T05:00:00+00:00"
    assert sunday.since == tuesday.since == "2026-11-22T05:30:00+00:00"
    assert "due 2026-11-24 06:00 CET" in tuesday.what

    # One file comes on Tuesday, late: the whole streak is over.
    desk.drop("products_20261124.csv", utc(2026, 11, 24, 7, 0))
    desk.take(utc(2026, 11, 24, 7, 5))
    assert missing_problems(desk.rt, desk.contracts, utc(2026, 11, 24, 7, 6)) == []


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


def test_a_replay_of_an_old_file_is_not_the_erps_file_coming(desk: Desk) -> None:
    # Found by review: the replay's listing has mtime 0, so its file "came" in 1970: the open
    # problem was resolved and a new one opened, keyed 500 due times back.
    desk.drop("products_20261121.csv", utc(2026, 11, 21, 4, 50))
    desk.take(utc(2026, 11, 21, 4, 55))
    [before] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 5, 31))

    [run] = desk.rt.ledger.runs("products", 1)
    archived = find_archived(desk.rt, desk.contracts, run.run_id)
    queue_replay(desk.rt, archived, "after a contract fix")
    desk.take(utc(2026, 11, 22, 6, 0), outcome="committed")

    [after] = missing_problems(desk.rt, desk.contracts, utc(2026, 11, 22, 6, 1))
    assert after.key == before.key == "missing:products:2026-11-22T05:00:00+00:00"

"""`run.py migrate-state` refuses what would lose work, and a failure half-way says so and
leaves nothing half-written: the PostgreSQL ledger is copied last, all or nothing, and a
second run takes up the bucket copy where the first stopped."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from etl.state.ledger import catalog
from etl.state.ledger.connection import connect, read_only
from etl.state.ledger.feed_runs import Ledger
from etl.state.ledger.heartbeats import Heartbeats
from etl.state.ledger.postgres import PostgresAt
from etl.state.locks import feed_lock
from tests.support.ports import free_port
from tests.support.s3 import SECRET, S3Bucket
from tests.support.vm_home import run, scale_out_environ, scale_out_toml, vm_toml

REFUSED, FAILED, CONFIG = 3, 1, 2


def _rows_in(at: PostgresAt) -> dict[str, int]:
    """Each table of the PostgreSQL ledger that holds rows, and how many."""
    db = read_only(at)
    if db is None:
        return {}
    try:
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in catalog.tables(db)
        }
        return {t: n for t, n in counts.items() if n}
    finally:
        db.close()


def _no_secret_in(text: str, at: PostgresAt) -> None:
    assert at.dsn not in text and SECRET not in text


def test_a_target_ledger_that_holds_rows_is_refused_and_nothing_moves(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    other = connect(postgres_at)  # another installation's ledger already lives there
    other.execute("INSERT INTO job_outcomes VALUES ('poll', 'ok', '', 't', NULL, 't')")
    other.close()
    scale_out_toml(vm_home, s3_bucket)

    code, out = run(vm_home, "migrate-state", environ=scale_out_environ(postgres_at.dsn))

    assert code == REFUSED, out
    assert "rows that are not this home's, in job_outcomes (1)" in caplog.text
    assert _rows_in(postgres_at) == {"job_outcomes": 1}
    assert s3_bucket.listed_keys() == []
    _no_secret_in(out + caplog.text, postgres_at)


def test_a_run_holding_the_home_is_refused(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    scale_out_toml(vm_home, s3_bucket)
    with feed_lock(vm_home / "state" / "locks", "products") as taken:
        assert taken
        code, out = run(vm_home, "migrate-state", environ=scale_out_environ(postgres_at.dsn))

    assert code == REFUSED, out
    assert "state/locks/products.lock is held: a run of products is going on" in caplog.text
    assert read_only(postgres_at) is None and s3_bucket.listed_keys() == []


def test_a_scheduler_that_beats_is_refused_one_stopped_on_purpose_is_not(
    vm_home: Path, postgres_at: PostgresAt, caplog: pytest.LogCaptureFixture
) -> None:
    beats = Heartbeats(vm_home / "state" / "ledger.sqlite")
    beats.beat("scheduler", dt.datetime.now(dt.UTC), os.getpid(), "vm-1")
    ledger = Ledger(vm_home / "state" / "ledger.sqlite")  # a run its dead process left running
    ledger.start_run("r-dead", "stock", "file", "2026-12-07T00:00:00+00:00", None, None)
    ledger.close()
    scale_out_toml(vm_home, None)  # the ledger only: the folders stay
    environ = scale_out_environ(postgres_at.dsn)

    refused = run(vm_home, "migrate-state", environ=environ)
    beats.stopped("scheduler", dt.datetime.now(dt.UTC))
    beats.close()
    moved = run(vm_home, "migrate-state", environ=environ)

    assert refused[0] == REFUSED and "the scheduler (pid" in caplog.text
    assert moved[0] == 0, moved[1]
    assert "folder archive/" not in moved[1] and _rows_in(postgres_at)["runs"] > 0
    assert "run r-dead is left `running` by a process that died" in moved[1]


def test_a_store_that_is_down_leaves_the_ledger_empty_and_a_second_run_resumes(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    environ = scale_out_environ(postgres_at.dsn)
    scale_out_toml(vm_home, s3_bucket, endpoint=f"http://127.0.0.1:{free_port()}")

    down = run(vm_home, "migrate-state", environ=environ)

    assert down[0] == FAILED, down[1]
    assert "stopped half-way" in caplog.text and "the PostgreSQL ledger got nothing" in caplog.text
    assert _rows_in(postgres_at) == {}
    _no_secret_in(down[1] + caplog.text, postgres_at)

    scale_out_toml(vm_home, s3_bucket)
    first = run(vm_home, "migrate-state", environ=environ)
    again = run(vm_home, "migrate-state", environ=environ)

    assert first[0] == 0 and again[0] == 0, first[1] + again[1]
    assert "already there 0" in first[1]
    assert "copied 0," in again[1] and "marked before" in again[1]
    assert "already holds exactly this home's rows (moved before)" in again[1]


def test_a_row_postgresql_refuses_rolls_the_whole_ledger_back(
    vm_home: Path, postgres_at: PostgresAt, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(vm_home / "state" / "ledger.sqlite") as vm:
        # PostgreSQL's text cannot hold NUL; SQLite's can. Tables before it are copied first.
        row = ("x", "ok", "a\x00b", "t", None, "t")
        vm.execute("INSERT INTO job_outcomes VALUES (?,?,?,?,?,?)", row)
    scale_out_toml(vm_home, None)

    code, out = run(vm_home, "migrate-state", environ=scale_out_environ(postgres_at.dsn))

    assert code == FAILED, out
    assert "table job_outcomes: PostgreSQL refused" in caplog.text
    assert "the copy was rolled back" in caplog.text
    assert _rows_in(postgres_at) == {}  # not even the tables before it


def test_settings_that_name_no_new_place_are_a_configuration_error(
    vm_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vm_toml(vm_home)
    code, _ = run(vm_home, "migrate-state")
    assert code == CONFIG and "nothing to move to" in caplog.text


def test_a_home_whose_ledger_moved_before_moves_its_folders_once_no_process_beats(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    environ = scale_out_environ(postgres_at.dsn)
    scale_out_toml(vm_home, None)
    assert run(vm_home, "migrate-state", environ=environ)[0] == 0
    for path in (vm_home / "state").glob("ledger.sqlite*"):
        path.unlink()  # the SQLite file is gone: the ledger lives in PostgreSQL only
    beats = Heartbeats(postgres_at)  # a worker on PostgreSQL beats for the scheduler
    beats.beat("scheduler", dt.datetime.now(dt.UTC), os.getpid(), "worker-1")
    scale_out_toml(vm_home, s3_bucket)

    refused = run(vm_home, "migrate-state", environ=environ)
    untouched = s3_bucket.listed_keys()
    beats.stopped("scheduler", dt.datetime.now(dt.UTC))
    beats.close()
    moved = run(vm_home, "migrate-state", environ=environ)

    assert refused[0] == REFUSED and "the scheduler (pid" in caplog.text and untouched == []
    assert moved[0] == 0, moved[1]
    assert "ledger: no state/ledger.sqlite in this home: nothing to copy" in moved[1]
    assert "archive runs: " in moved[1]
    assert any(k.startswith("shop1/archive/products/") for k in s3_bucket.listed_keys())


def test_a_dry_run_that_cannot_reach_postgresql_says_nothing_moved_not_half_way(
    vm_home: Path, s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    # Found trying the command as a new user: a dry run moves nothing, so "stopped half-way"
    # (and its advice about what the ledger got) sent the operator looking for half a move.
    environ = scale_out_environ(f"postgresql://etl:pw-in-dsn@127.0.0.1:{free_port()}/etl")
    scale_out_toml(vm_home, s3_bucket)

    down = run(vm_home, "migrate-state", "--dry-run", environ=environ)

    assert down[0] == FAILED, down[1]
    assert "dry run stopped: " in caplog.text and "nothing was moved" in caplog.text
    assert "half-way" not in caplog.text and "pw-in-dsn" not in caplog.text + down[1]

"""Paths the ledger keeps (a run's archive folder, a replay's input) are relative to the home:
the same ledger is read from any working folder (`--home`, a service) and after the home moved."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from etl.cli import main


def _kept(home: Path, sql: str) -> list[str]:
    with sqlite3.connect(home / "state" / "ledger.sqlite") as db:
        return [row[0] for row in db.execute(sql) if row[0]]


def test_a_replay_asked_from_elsewhere_and_taken_in_a_moved_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(home)
    assert main(["once", "--feed", "credits"]) in (0, 3)  # run from inside the home, no --home
    assert all(not Path(d).is_absolute() for d in _kept(home, "SELECT archive_dir FROM runs"))

    monkeypatch.chdir(elsewhere)
    assert main(["--home", str(home), "replay", "credits", "kreditfakturor_20261126.xlsx"]) == 0
    [kept] = _kept(home, "SELECT input FROM replays")
    assert not Path(kept).is_absolute() and (home / kept).is_file()

    moved = tmp_path / "moved"
    shutil.copytree(home, moved)
    shutil.rmtree(home)  # the home was moved or restored elsewhere: nothing may point back
    assert main(["--home", str(moved), "once", "--feed", "credits"]) in (0, 3)
    outcomes = _kept(moved, "SELECT outcome FROM runs WHERE kind = 'replay'")
    assert outcomes and "failed" not in outcomes

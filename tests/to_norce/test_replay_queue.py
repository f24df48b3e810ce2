"""The ledger's replay queue keeps the operator's reason and finds a replay by the run taking it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from etl.state.ledger.base import Commit, Replay
from etl.state.ledger.feed_runs import Ledger
from tests.support.paths import REPO

SHA = "ab" * 32
V0 = REPO / "tests" / "fixtures" / "ledger_v0.sqlite"


def test_the_run_taking_a_replay_finds_it_with_its_reason(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    asked = Replay("products", "r1", SHA, "archive/products/r1/p.csv", "2026-12-07T01:00:00", "why")
    assert ledger.ask_replay(asked)
    assert ledger.pending_replays("products") == [asked]
    assert ledger.replay_taken_by("x1") is None

    ledger.start_run("x1", "products", "replay", "2026-12-07T01:01:00", "p.csv", SHA)
    ledger.start_replay(asked, "x1")
    ledger.commit(Commit("x1", "products", "committed", "2026-12-07T01:02:00", {}, [], None))

    assert ledger.replay_taken_by("x1") == asked
    assert ledger.pending_replays("products") == []
    ledger.close()


def test_a_replay_asked_before_reasons_were_kept_has_none(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    shutil.copyfile(V0, path)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO replays VALUES ('products', 'r1', ?, 'a/p.csv', '2026-12-07T01:00', NULL)",
            (SHA,),
        )
    ledger = Ledger(path)  # migrates to the newest version
    [replay] = ledger.pending_replays("products")
    assert (replay.of_run, replay.why) == ("r1", "")
    ledger.close()

"""`run.py replay RUN` for master data: an archived export taken again, on purpose, as a new run.

Norce in file mode: every call is a file in outbox/norce/, so what a replay sends (and what a
dry run does not) shows there. The replay diffs against the CURRENT snapshot: only what
differs from it is sent, and its removals pass the guard like any file's.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.retention.purge import purge
from etl.runtime import Runtime
from tests.support.masterdata import run_once, settings_for, write_cp1252_products

A = [
    "100123;ACME;Acme AB;AG-100-L;AG-100;Handske L;;GLOVES;7350000000016;25;0,12",
    "100124;ACME;Acme AB;AG-100-XL;AG-100;Handske XL;;GLOVES;7350000000023;25;0,13",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa;;LIGHTS;6410000000018;25;0,21",
]
# The same export the next night, one product renamed.
B = [A[0].replace("Handske L;", "Handske Large;"), *A[1:]]


class Desk:
    """A home with the shipped contracts, a local ERP folder, and `run.py` over both."""

    def __init__(self, home: Path, tmp_path: Path) -> None:
        self.home = home
        self.erp = tmp_path / "drop"
        (self.erp / "products").mkdir(parents=True)
        self.settings: Settings = settings_for(home, LocalStoreSettings(root=self.erp))
        self.config = tmp_path / "etl.toml"
        self.config.write_text(
            f'home = "{home}"\nschemas_dir = "{home / "schemas"}"\n'
            f'[stores.erp]\nkind = "local"\nroot = "{self.erp}"\n',
            encoding="utf-8",
        )

    def drop_and_run(self, name: str, rows: list[str]) -> tuple[str, str, dict[str, int], str]:
        """Drop an export, run the feed: (run id, outcome, counts, message)."""
        write_cp1252_products(self.erp / "products" / name, rows)
        [outcome] = run_once(self.settings, "products")
        return outcome.run_id or "", outcome.outcome, outcome.counts, outcome.message

    def cli(self, *args: str) -> int:
        return main(["--config", str(self.config), *args])

    def contract(self, old: str, new: str) -> None:
        path = self.home / "schemas" / "products.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    def sent(self) -> list[Path]:
        """The Norce calls' bodies written so far, in file mode."""
        paths = (self.home / "outbox" / "norce").rglob("*.json")
        return sorted(p for p in paths if not p.name.endswith(".request.json"))

    def ledger(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.home / "state" / "ledger.sqlite") as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]


@pytest.fixture
def desk(home: Path, tmp_path: Path) -> Desk:
    return Desk(home, tmp_path)


def test_a_replay_bypasses_dedupe_and_sends_only_what_differs_from_the_current_snapshot(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _, counts, _ = desk.drop_and_run("products_1.csv", A)
    assert counts["adds"] == 3
    desk.drop_and_run("products_2.csv", B)
    # The first export's bytes again are known content: a duplicate, never looked at.
    assert desk.drop_and_run("products_3.csv", A)[1] == "duplicate"
    before = desk.sent()

    code = desk.cli("replay", first, "--why", "the rename was a mistake", "--now")

    assert code == 0
    out = capsys.readouterr().out
    assert f"products: queued: replays run {first} (products_1.csv), taken now" in out
    [(run_id, kind, outcome, message, counts_json)] = desk.ledger(
        "SELECT run_id, kind, outcome, message, counts FROM runs WHERE kind='replay'"
    )
    assert (kind, outcome) == ("replay", "committed")
    assert message == f"replay of run {first} (the rename was a mistake)"
    replayed = json.loads(str(counts_json))
    # Only the renamed product goes back; the other two are as Norce has them.
    assert (replayed["adds"], replayed["changes"], replayed["removals"]) == (0, 1, 0)
    # The first run's calls stay as they were: the replay's batch has a name of its own.
    assert set(before) < set(desk.sent())
    new_calls = [p for p in desk.sent() if p not in before]
    assert new_calls and all("Handske L" in p.read_text(encoding="utf-8") for p in new_calls)
    assert not any("Handske XL" in p.read_text(encoding="utf-8") for p in new_calls)
    manifest = next((desk.home / "archive" / "products").rglob(f"{run_id}/manifest.json"))
    assert json.loads(manifest.read_text(encoding="utf-8"))["replay_of"] == first
    # `status` names the run it replays and why.
    assert desk.cli("status", "--feed", "products") in (0, 1)
    assert f"replay of run {first} (the rename was a mistake)" in capsys.readouterr().out
    assert run_once(desk.settings, "products") == []  # taken once


def test_a_dry_run_shows_the_delta_and_changes_nothing(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    first = desk.drop_and_run("products_1.csv", A)[0]
    desk.drop_and_run("products_2.csv", B)
    sent, snapshots = desk.sent(), sorted((desk.home / "state").rglob("*.parquet"))
    tables = "SELECT * FROM runs UNION ALL SELECT feed, path, run_id, rows, 0,0,0,0,0,0,0,0 FROM snapshots"
    ledger = desk.ledger(tables)
    archive = sorted((desk.home / "archive").rglob("*"))
    capsys.readouterr()

    assert desk.cli("replay", first, "--dry-run") == 0

    out = capsys.readouterr().out
    assert f"products: dry run: a replay of run {first} (products_1.csv)" in out
    assert "rows 3, rejected 0, adds 0, changes 1, reactivations 0, removals 0" in out
    assert "part_no=100123: name=Handske L" in out
    assert "nothing was changed" in out
    assert desk.ledger(tables) == ledger  # no run row, same snapshot pointer
    assert desk.ledger("SELECT * FROM replays") == []  # nothing queued either
    assert desk.sent() == sent
    assert sorted((desk.home / "state").rglob("*.parquet")) == snapshots
    assert sorted((desk.home / "archive").rglob("*")) == archive
    assert run_once(desk.settings, "products") == []


def test_a_file_rejected_whole_is_sent_once_its_contract_is_fixed(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = '"Artikelnr" = "part_no"', '"Artikel" = "part_no"'
    desk.contract(good, broken)
    refused, outcome, _, message = desk.drop_and_run("products_1.csv", A)
    assert outcome == "rejected" and "missing column" in message
    assert desk.sent() == []
    desk.contract(broken, good)

    assert desk.cli("replay", refused, "--dry-run") == 0
    assert "adds 3" in capsys.readouterr().out
    assert desk.cli("replay", refused, "--why", "Artikelnr mapped again", "--now") == 0

    [(outcome, counts)] = desk.ledger("SELECT outcome, counts FROM runs WHERE kind='replay'")
    assert outcome == "committed" and json.loads(str(counts))["adds"] == 3
    payload = "".join(p.read_text(encoding="utf-8") for p in desk.sent())
    assert all(part_no in payload for part_no in ("100123", "100124", "100200"))


def test_the_removal_guard_holds_a_replays_removals(desk: Desk) -> None:
    desk.contract("max_removals = 10", "max_removals = 1")
    small = desk.drop_and_run("products_1.csv", A[:1])[0]
    desk.drop_and_run("products_2.csv", A)
    sent = desk.sent()

    assert desk.cli("replay", small, "--now") == 0

    [(run_id, counts)] = desk.ledger("SELECT run_id, counts FROM runs WHERE kind='replay'")
    assert (json.loads(str(counts))["held"], json.loads(str(counts))["removals"]) == (2, 0)
    assert desk.ledger("SELECT run_id, state FROM holds") == [(run_id, "pending")]
    assert desk.sent() == sent  # nothing else differed: no call at all


def test_runs_that_took_no_file_resolve_or_say_what_to_do(
    desk: Desk, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.contract("max_removals = 10", "max_removals = 1")
    first = desk.drop_and_run("products_1.csv", A)[0]
    held = desk.drop_and_run("products_2.csv", A[:1])[0]
    assert desk.cli("approve", held) == 0
    [approval] = [r[0] for r in desk.ledger("SELECT run_id FROM runs WHERE kind='approve'")]
    duplicate = desk.drop_and_run("products_3.csv", A)  # the first export's bytes again
    assert duplicate[1] == "duplicate"
    caplog.clear()

    assert desk.cli("replay", approval) == 1
    assert desk.cli("replay", "no-such-run") == 1
    # A duplicate took the bytes an earlier run committed: that run's copy is the same file.
    assert desk.cli("replay", duplicate[0], "--dry-run") == 0

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        f"products: run {approval} approved the removals held by run {held}; it took no "
        f"file: replay that run's file with `run.py replay {held}`",
        "no run 'no-such-run': give a run id as `run.py status` shows it (or `run.py "
        "replay FEED FILE` with a file name or the start of its sha256)",
    ]
    assert f"a replay of run {first} (products_1.csv)" in capsys.readouterr().out


def test_a_run_whose_file_retention_purged_cannot_be_replayed(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    desk.contract("[guard]", "[archive]\nretention_days = 1\n\n[guard]")
    first = desk.drop_and_run("products_1.csv", A)[0]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    purge(desk.settings, load_contracts(desk.settings), later)
    caplog.clear()

    assert desk.cli("replay", first, "--dry-run") == 1
    assert desk.cli("replay", first) == 1

    [error, _] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert error.startswith(
        f"products: the archived copy of products_1.csv (run {first}) is gone, purged with "
        "its run folder by retention on "
    )
    assert error.endswith(": drop the file in the feed's folder again")
    assert desk.ledger("SELECT * FROM replays") == []


@pytest.mark.parametrize(
    ("kind", "outcome", "said"),
    [
        (
            "file",
            "failed",
            "is failed: its file was not archived; it stays where it was and "
            "the feed's next run takes it again",
        ),
        ("file", "interrupted", "is interrupted: its file was not archived"),
        ("documents", "failed", "took up the feed's open documents; it took no file"),
        ("fetch", "failed", "could not list the feed's folder; it took no file"),
    ],
)
def test_a_run_that_archived_no_file_is_refused_with_why(
    desk: Desk, caplog: pytest.LogCaptureFixture, kind: str, outcome: str, said: str
) -> None:
    rt = Runtime.open(desk.settings)
    try:
        rt.ledger.start_run("r-1", "products", kind, rt.stamp(), "products/p.csv", None)
        rt.ledger.fail_run("r-1", rt.stamp(), outcome, "Norce said 503")
    finally:
        rt.close()

    assert desk.cli("replay", "r-1") == 1

    [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert error.startswith(f"products: run r-1 {said}")
    assert desk.ledger("SELECT * FROM replays") == []


def test_a_replay_refused_whole_again_says_what_it_replayed_and_why(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    good, broken = '"Artikelnr" = "part_no"', '"Artikel" = "part_no"'
    desk.contract(good, broken)
    refused = desk.drop_and_run("products_1.csv", A)[0]

    # The contract is not fixed yet: the replay is refused whole like the file was.
    assert desk.cli("replay", refused, "--why", "try again", "--now") == 3

    [(outcome, message)] = desk.ledger("SELECT outcome, message FROM runs WHERE kind='replay'")
    assert outcome == "rejected"
    assert str(message).startswith(f"replay of run {refused} (try again); replay-")
    assert "-products_1.csv: missing column" in str(message)
    assert desk.cli("status", "--feed", "products") in (0, 1)
    assert f"rejected: replay of run {refused} (try again)" in capsys.readouterr().out

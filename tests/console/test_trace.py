"""`run.py trace KEY`: a price's life, run by run, from the ledger and the archive alone.

Real runs against the Norce stand-in (job ids come back), a real approval, then the real
command through `etl.cli.main`, its text read and its `--json` parsed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.retention.purge import purge
from etl.runtime import Runtime
from etl.to_norce.masterdata.approve import approve
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin, run_norce_standin
from tests.support.price_list import PRICES


class Life:
    """The run ids of a price list's life: added, changed and rejected, held, approved."""

    def __init__(self, home: Path, erp: Path, norce: NorceStandin) -> None:
        (home / "schemas" / "prices.toml").write_text(PRICES, encoding="utf-8")
        self.home, self.erp = home, erp
        self.settings = settings_for(home, LocalStoreSettings(root=erp), norce.settings())
        self.added = self.run("prices_1.csv", ["A,SEK,10", "B,SEK,20", "C,SEK,30"])
        # A's price goes up; B's row is bad (its price kept, its removal spared).
        self.changed = self.run("prices_2.csv", ["A,SEK,12", "B,SEK,abc", "C,SEK,30"])
        self.held = self.run("prices_3.csv", ["A,SEK,12", "B,SEK,20"])  # C is gone: held
        rt = Runtime.open(self.settings, sleep=lambda s: None)
        try:
            self.approved = approve(rt, load_contracts(self.settings), self.held)
        finally:
            rt.close()

    def run(self, name: str, rows: list[str]) -> str:
        folder = self.erp / "prices"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("ItemNo,Currency,Price\n" + "".join(r + "\n" for r in rows))
        [outcome] = run_once(self.settings, "prices")
        assert outcome.outcome == "committed", outcome
        return outcome.run_id or ""


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    """One life for the module's tests: they only read it."""
    root = tmp_path_factory.mktemp("trace")
    (root / "home" / "schemas").mkdir(parents=True)
    with run_norce_standin() as norce:
        yield Life(root / "home", root / "erp-drop", norce)


def trace(settings: Settings, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`run.py trace ...` on the home, through the real CLI; (exit code, stdout)."""
    config = settings.home / "trace.toml"
    root = settings.stores["erp"].root  # type: ignore[union-attr]
    config.write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\nroot = "{root}"\n',
        encoding="utf-8",
    )
    code = main(["--config", str(config), "trace", *args])
    return code, capsys.readouterr().out


def steps(document: dict[str, Any], feed: str = "prices") -> list[dict[str, Any]]:
    [trail] = [f for f in document["feeds"] if f["feed"] == feed]
    return list(trail["steps"])


def test_a_change_shows_its_old_and_new_value_and_the_job_that_carried_it(
    life: Life, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = trace(life.settings, capsys, "A")

    assert code == 0
    lines = out.splitlines()
    [changed] = [n for n, line in enumerate(lines) if f"run {life.changed}" in line]
    assert "prices_2.csv line 2  A / B2C-SEK / 1: changed" in lines[changed]
    assert lines[changed + 1].strip() == "price_sale: 10 -> 12"
    assert "carried by 0001-ImportSkuPriceLists-change1 (job " in lines[changed + 2]
    assert "succeeded)" in lines[changed + 2]
    # Newest first: the change comes before the add.
    [added] = [n for n, line in enumerate(lines) if f"run {life.added}" in line]
    assert changed < added and "A / B2C-SEK / 1: added" in lines[added]


def test_json_names_the_values_the_request_and_the_job(
    life: Life, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = trace(life.settings, capsys, "A", "--json")

    assert code == 0
    document = json.loads(out)
    assert document["version"] == 1  # as every --json document (found reading the diff)
    assert document["key"] == "A"
    found = steps(document)
    assert [(s["run_id"], s["action"]) for s in found] == [
        (life.changed, "change"),
        (life.added, "add"),
    ]
    change = found[0]
    assert change["file"] == "prices_2.csv" and change["line"] == 2
    assert change["changes"] == [
        {"field": "price_sale", "old": "10.0000", "new": "12.0000", "kept": True}
    ]
    [request] = change["requests"]
    assert request["label"] == "0001-ImportSkuPriceLists-change1"
    assert request["job_id"] and request["status"] == "succeeded"
    [trail] = document["feeds"]
    assert trail["runs_read"] == 4 and trail["runs_purged"] == 0


def test_a_rejected_row_gives_its_line_code_and_message_and_what_it_spared(
    life: Life, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = trace(life.settings, capsys, "B", "--json")

    assert code == 0
    found = [s for s in steps(json.loads(out)) if s["run_id"] == life.changed]
    by_action = {s["action"]: s for s in found}
    assert set(by_action) == {"spared", "rejected"}
    rejected = by_action["rejected"]
    assert (rejected["file"], rejected["line"], rejected["code"]) == ("prices_2.csv", 3, "type")
    assert "'abc' is not a number" in rejected["message"]
    assert by_action["spared"]["reason"] == "rejected row on line 3 may stand for it"


def test_a_held_removal_names_the_approval_that_sent_it(
    life: Life, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = trace(life.settings, capsys, "C / B2C-SEK / 1", "--feed", "prices")

    assert code == 0
    lines = out.splitlines()
    sent = next(line for line in lines if f"run {life.approved}" in line)
    assert f"removal sent (approval of run {life.held})" in sent
    assert "missing from the file" in sent and "hold approved" in sent
    carried = lines[lines.index(sent) + 1]
    assert "carried by 0001-ImportSkuPriceLists-remove (job " in carried
    held = next(line for line in lines if f"run {life.held}  " in line)
    assert "prices_3.csv" in held and "removal held" in held
    assert f"approved, sent by run {life.approved}" in held
    added = next(line for line in lines if f"run {life.added}  " in line)
    assert lines.index(sent) < lines.index(held) < lines.index(added)


def test_the_trail_keeps_old_values_only_for_changed_fields(life: Life) -> None:
    [path] = (life.home / "archive" / "prices").glob(f"*/{life.changed}/delta.parquet")
    frame = pl.read_parquet(path)

    assert frame.schema["old:price_sale"] == pl.String
    rows = {r["key"]: r for r in frame.iter_rows(named=True)}
    assert rows["A / B2C-SEK / 1"]["old:price_sale"] == "10.0000"
    assert rows["B / B2C-SEK / 1"]["old:price_sale"] is None  # spared: nothing changed


def test_an_unknown_key_says_where_it_looked_and_exits_1(
    life: Life, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = trace(life.settings, capsys, "NOPE")

    assert code == 1
    assert out.startswith("nothing found for NOPE (looked in prices)")


def test_runs_past_retention_are_counted_not_read(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    kept = PRICES + "\n[archive]\nretention_days = 1\n"
    (home / "schemas" / "prices.toml").write_text(kept, encoding="utf-8")
    erp = tmp_path / "erp-drop"
    (erp / "prices").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    (erp / "prices" / "prices_1.csv").write_text("ItemNo,Currency,Price\nA,SEK,10\n")
    [added] = run_once(settings, "prices")
    assert added.outcome == "committed", added
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    purge(settings, load_contracts(settings), later)

    code, out = trace(settings, capsys, "A")

    assert code == 1
    assert not list((home / "archive" / "prices").glob("*/*/delta.parquet"))
    assert "prices: 0 run(s) read (run folders kept 1 days, 1 older run(s) purged)" in out

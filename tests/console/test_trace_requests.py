"""`run.py trace KEY` names the one request that carried the key, when a run sent several."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import LocalStoreSettings
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import run_norce_standin
from tests.support.price_list import PRICES


def test_each_key_names_the_request_that_carried_it_not_every_request_of_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, erp = tmp_path / "home", tmp_path / "erp"
    (home / "schemas").mkdir(parents=True)
    (home / "schemas" / "prices.toml").write_text(PRICES, encoding="utf-8")
    (erp / "prices").mkdir(parents=True)
    (erp / "prices" / "prices_1.csv").write_text(
        "ItemNo,Currency,Price\nA,SEK,10\nB,SEK,20\nC,SEK,30\n"
    )
    with run_norce_standin() as norce:
        # One item per request: the run sends three adds, each with its own job.
        standin = norce.settings().model_copy(update={"chunk_size": 1})
        [outcome] = run_once(settings_for(home, LocalStoreSettings(root=erp), standin), "prices")
    assert outcome.outcome == "committed"
    config = home / "trace.toml"
    config.write_text(f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp}"\n')

    carried = {}
    for sku in "ABC":
        assert main(["--config", str(config), "trace", sku, "--json"]) == 0
        [feed] = json.loads(capsys.readouterr().out)["feeds"]
        [step] = feed["steps"]
        carried[sku] = [r["label"] for r in step["requests"]]

    assert carried == {
        "A": ["0001-ImportSkuPriceLists-add"],
        "B": ["0002-ImportSkuPriceLists-add"],
        "C": ["0003-ImportSkuPriceLists-add"],
    }

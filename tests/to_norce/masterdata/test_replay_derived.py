"""`run.py replay RUN` of a feed that reads another feed's file (source.from_feed).

Such a feed has no run of its own: it runs in the runs of the feed whose file it reads. Its
replay is queued under its own name and taken by that feed's next run (or at once, --now).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from etl.cli import main
from etl.config.settings import LocalStoreSettings
from tests.support.customer_companies import COMPANIES, CUSTOMERS
from tests.support.masterdata import run_once, settings_for

ROWS = [
    "ID,First,Last,Mail,Company,Org",
    "K1,Anna,Berg,anna@example.com,Volvo Bil AB (C-100),556012-5790",
    "K2,Lena,Ek,lena@example.com,Ericsson AB (C-200),556016-0680",
]


def test_a_derived_feeds_rejected_run_is_replayed_in_its_source_feeds_run(
    home: Path, tmp_path: Path
) -> None:
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "customers.toml").write_text(CUSTOMERS, encoding="utf-8")
    wrong = COMPANIES.replace('"Org" =', '"Orgnr" =')
    (home / "schemas" / "companies.toml").write_text(wrong, encoding="utf-8")
    erp = tmp_path / "erp"
    (erp / "customers").mkdir(parents=True)
    (erp / "customers" / "kunder_1.csv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    settings = settings_for(home, LocalStoreSettings(root=erp))
    outcomes = {o.feed: o for o in run_once(settings, "customers")}
    assert (outcomes["companies"].outcome, outcomes["customers"].outcome) == (
        "rejected",
        "committed",
    )
    (home / "schemas" / "companies.toml").write_text(COMPANIES, encoding="utf-8")
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{home}"\nschemas_dir = "{home / "schemas"}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )

    code = main(["--config", str(config), "replay", outcomes["companies"].run_id or "", "--now"])

    assert code == 0
    with sqlite3.connect(home / "state" / "ledger.sqlite") as db:
        replays = db.execute(
            "SELECT feed, outcome, counts FROM runs WHERE kind='replay'"
        ).fetchall()
    assert [(f, o, json.loads(c)["adds"]) for f, o, c in replays] == [("companies", "committed", 2)]
    assert run_once(settings, "customers") == []  # taken once, and customers not again

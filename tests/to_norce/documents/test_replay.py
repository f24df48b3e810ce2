"""`run.py replay`: a document file is taken again after its contract was fixed.

The same bytes dropped again are a `duplicate` (the ledger knows the content), so a file
whose rows the old contract rejected needs a way back in: replay takes the archived copy
on the feed's next run, as a run of its own that names the run it replays. Documents of
the file that Norce already has are not sent again: the document book knows their hashes.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import LocalStoreSettings, NorceSettings
from tests.support.documents import (
    PAYMENT,
    invoice_contract,
    make_home,
    manifest,
    receive_order,
    run,
    settings_for,
    write_invoices,
    write_statuses,
)
from tests.support.norce.orders import OrderStandin
from tests.support.paths import SCHEMAS

# A check someone added to the contract: it is wrong, INV-2's chair costs more than 100.
TOO_STRICT = "\n[checks.fields.unit_price]\nmax = 100\n"
ROWS = [
    "INV-1;1001;SO-1;2026-11-20;SEK;0;99.00;1;100123;1;79.20;19.80",
    "INV-2;1001;SO-1;2026-11-25;SEK;1;150.00;1;100124;1;120.00;30.00",
]


def config_file(tmp_path: Path, home: Path, drop: Path) -> Path:
    """A settings file for `run.py` over the same home and drop folder (Norce in file mode)."""
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{home}"\nschemas_dir = "{home / "schemas"}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{drop}"\n',
        encoding="utf-8",
    )
    return config


def fix_contract(home: Path, text: str) -> None:
    (home / "schemas" / "invoices_csv.toml").write_text(text, encoding="utf-8")


def runs(home: Path) -> list[tuple[str, str, str, str | None]]:
    """(run id, kind, outcome, message) of the feed's file runs, oldest first."""
    with sqlite3.connect(home / "state" / "ledger.sqlite") as db:
        rows = db.execute(
            "SELECT run_id, kind, outcome, message FROM runs WHERE feed='invoices_csv' "
            "AND kind != 'documents' ORDER BY rowid"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_a_file_with_rejected_rows_is_taken_again_and_sends_only_what_norce_lacks(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders.add_order(1001)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract() + TOO_STRICT})
    receive_order(home, 1001, PAYMENT)
    settings = settings_for(home, local, http)
    write_invoices(drop, "inv_1.csv", ROWS)
    [first] = run(settings, "invoices_csv")
    assert (first.outcome, first.counts["sent"], first.counts["rejected"]) == ("committed", 1, 1)
    # The same bytes again are known content: a duplicate, whatever the contract says now.
    fix_contract(home, invoice_contract())
    write_invoices(drop, "inv_1.csv", ROWS)
    [again] = run(settings, "invoices_csv")
    assert again.outcome == "duplicate"

    config = str(config_file(tmp_path, home, drop))
    capsys.readouterr()
    # A dry run says per document what would go, and sends, books and records nothing.
    assert main(["--config", config, "replay", first.run_id, "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert f"INV-1: already sent (run {first.run_id}); not sent again" in shown
    assert "INV-2: would be sent" in shown
    assert "1 would be sent, 0 tried again, 1 not sent again, 0 held back by rejected rows" in shown
    assert orders.captures == [("INV-1", Decimal("99.00"))]
    assert [r[1] for r in runs(home)] == ["file", "file"]

    # The older form, `replay FEED FILE`, still names the file within its feed.
    code = main(["--config", config, "replay", "invoices_csv", "inv_1.csv"])

    assert code == 0
    assert f"replays run {first.run_id} (inv_1.csv)" in capsys.readouterr().out
    [replayed] = run(settings, "invoices_csv")
    assert replayed.outcome == "committed"
    assert (replayed.counts["sent"], replayed.counts["already_sent"]) == (1, 1)
    # INV-1 was captured once, by the first run; INV-2 only now.
    assert orders.captures == [("INV-1", Decimal("99.00")), ("INV-2", Decimal("150.00"))]
    assert manifest(replayed, home)["replay_of"] == first.run_id
    assert runs(home)[-1] == (
        replayed.run_id,
        "replay",
        "committed",
        f"replay of run {first.run_id}",
    )
    assert run(settings, "invoices_csv") == []  # taken once


def test_a_file_refused_whole_is_replayed_by_its_content_hash(
    tmp_path: Path, drop: Path, local: LocalStoreSettings, http: NorceSettings, orders: OrderStandin
) -> None:
    orders.add_order(1001)
    wrong = invoice_contract().replace('delimiter = ";"', 'delimiter = ","')
    home = make_home(tmp_path, extra={"invoices_csv": wrong})
    receive_order(home, 1001, PAYMENT)
    settings = settings_for(home, local, http)
    write_invoices(drop, "inv_2.csv", ROWS[:1])
    [refused] = run(settings, "invoices_csv")
    assert refused.outcome == "rejected"
    sha = json.loads(next((home / "archive").rglob("manifest.json")).read_text())["input"]["sha256"]
    fix_contract(home, invoice_contract())

    code = main(["--config", str(config_file(tmp_path, home, drop)), "replay", "invoices_csv",
                 sha[:12]])  # fmt: skip

    assert code == 0
    [replayed] = run(settings, "invoices_csv")
    assert (replayed.outcome, replayed.counts["sent"]) == ("committed", 1)
    assert orders.captures == [("INV-1", Decimal("99.00"))]


def test_replay_says_what_it_cannot_do(
    tmp_path: Path, drop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = make_home(tmp_path, "prices", extra={"invoices_csv": invoice_contract()})
    config = str(config_file(tmp_path, home, drop))

    assert main(["--config", config, "replay", "invoices_csv", "nothing.csv"]) == 1
    assert main(["--config", config, "replay", "prices", "prices.csv"]) == 1
    assert main(["--config", config, "replay", "nofeed", "x.csv"]) == 1

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors[0] == (
        "invoices_csv: no archived file is known as 'nothing.csv' (give a run id, the file's "
        "name, or the start of its sha256, as `run.py status` and the manifests show them)"
    )
    assert errors[1].startswith("prices: no archived file is known as 'prices.csv'")
    assert errors[2].startswith("no feed 'nofeed'")


def test_replay_now_runs_the_feed_at_once(
    tmp_path: Path, drop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Norce in file mode: each call is a file in outbox/norce/, so what went twice would show."""
    shipped = (SCHEMAS / "order_status.toml").read_text(encoding="utf-8")
    home = make_home(tmp_path, extra={"order_status": shipped.replace('"15" = "OnHold"\n', "")})
    write_statuses(
        drop,
        "orderstatus_1.csv",
        ["SO-1;1001;10;2026-11-20 08:00;", "SO-1;1001;15;2026-11-20 09:00;"],
    )
    config = str(config_file(tmp_path, home, drop))
    assert main(["--config", config, "once", "--feed", "order_status"]) == 0
    (home / "schemas" / "order_status.toml").write_text(shipped, encoding="utf-8")

    assert main(["--config", config, "replay", "order_status", "orderstatus_1.csv", "--now"]) == 0

    out = capsys.readouterr().out
    assert "taken now" in out and "committed: replay of run " in out
    sent = sorted(
        p.name for p in (home / "outbox" / "norce" / "order_status").glob("*[0-9a-f].json")
    )
    assert [name.rsplit("-", 1)[0] for name in sent] == [
        "order_status-SO-1_10",
        "order_status-SO-1_15",
    ]
    # `status` tells the replay from a file of its own, and names the run it replays.
    assert main(["--config", config, "status", "--feed", "order_status"]) == 0
    status = capsys.readouterr().out
    assert "replay of run " in status, status


def test_a_dry_run_does_not_promise_a_waiting_document_is_sent(
    tmp_path: Path,
    drop: Path,
    local: LocalStoreSettings,
    http: NorceSettings,
    orders: OrderStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Found by review: the dry run said "would be sent (it waited for its order)"; the real
    # replay left the invoice waiting, as its order had still not been received.
    orders.add_order(1002)
    home = make_home(tmp_path, extra={"invoices_csv": invoice_contract()})
    settings = settings_for(home, local, http)
    write_invoices(
        drop, "inv_9.csv", ["INV-9;1002;SO-2;2026-11-20;SEK;0;99.00;1;100123;1;79.20;19.80"]
    )
    [first] = run(settings, "invoices_csv")
    assert first.counts.get("waiting") == 1, first.counts

    capsys.readouterr()
    config = str(config_file(tmp_path, home, drop))
    assert main(["--config", config, "replay", first.run_id, "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "INV-9: would be sent" not in shown
    assert "INV-9: would be tried again" in shown
    assert "0 would be sent, 1 tried again, 0 not sent again" in shown

"""`run.py trace` of an order ref and of a document number.

A real order taken as the receiver takes it (held: DoHold), released by the real command,
exported by the real export to a local folder, then invoiced by a real document run; the
trace is read back through `etl.cli.main`, as text and as JSON.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from etl.cli import main
from etl.config.settings import LocalStoreSettings, Settings
from etl.runtime import Runtime
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.inbound import open_inbound
from etl.to_erp.orders.jobs import export_once
from tests.support.documents import invoice_contract, make_home, run, settings_for, write_invoices
from tests.support.orders import encode, order
from tests.support.paths import SCHEMAS

INVOICE = "INV-7;1001;SO-1;2026-11-20;SEK;1;99.00;1;100123;1;79.20;19.80"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home where order 1001 came held, was released, exported and invoiced."""
    root = tmp_path_factory.mktemp("orders")
    home = make_home(root, extra={"invoices_csv": invoice_contract()})
    (home / "schemas" / "orders").mkdir()
    shutil.copy(SCHEMAS / "orders" / "erp_csv.toml", home / "schemas" / "orders")
    drop = root / "erp"
    drop.mkdir()
    settings = settings_for(home, LocalStoreSettings(root=drop))
    inbound = open_inbound(settings)
    try:
        answer = inbound.accept(encode(order("1001", DoHold=True)), "application/json", "push")
    finally:
        inbound.book.close()
    assert answer.status == 200, answer
    assert cli(settings, "release", "1001") == 0
    rt = Runtime.open(settings, sleep=lambda s: None)
    try:
        summary = export_once(rt, load_layouts(settings)["erp_csv"])
    finally:
        rt.close()
    assert summary.error is None and summary.units == 1, summary
    write_invoices(drop, "inv_1.csv", [INVOICE])
    [outcome] = run(settings, "invoices_csv")
    assert outcome.outcome == "committed", outcome
    return settings


def cli(settings: Settings, *args: str) -> int:
    """The real command line on the home (its settings written as a file)."""
    config = settings.home / "etl.toml"
    root = settings.stores["erp"].root  # type: ignore[union-attr]
    config.write_text(
        f'home = "."\nschemas_dir = "schemas"\n[stores.erp]\nkind = "local"\nroot = "{root}"\n',
        encoding="utf-8",
    )
    return main(["--config", str(config), *args])


def test_an_order_ref_shows_its_hold_release_export_and_documents(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = cli(settings, "trace", "1001")
    out = capsys.readouterr().out

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "order 1001: exported, newest first"
    what = [line.split("  ")[2].split(":")[0] for line in lines[1:]]
    assert what == ["document", "exported", "released", "held", "received"]
    assert "invoice INV-7 sent" in lines[1]
    assert "layout erp_csv: done" in lines[2] and "ORDERS_" in lines[2]
    assert "DoHold" in lines[4]


def test_a_document_number_shows_the_run_that_read_it_and_its_state(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = cli(settings, "trace", "INV-7", "--json")
    document = json.loads(capsys.readouterr().out)

    assert code == 0
    [subject] = document["subjects"]
    assert (subject["kind"], subject["ref"], subject["state"]) == ("document", "INV-7", "sent")
    by_what = {e["what"]: e for e in subject["events"]}
    assert by_what["read"]["file"] == "inv_1.csv"
    assert "invoices_csv: invoice sent (line 2)" in by_what["read"]["detail"]
    assert by_what["book"]["detail"].startswith("invoice sent for order 1001 (ERP order SO-1)")
    assert by_what["read"]["run_id"] == by_what["book"]["run_id"]


def test_trace_reads_and_never_creates_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = make_home(tmp_path)
    bare = settings_for(home, LocalStoreSettings(root=tmp_path))

    assert cli(bare, "trace", "1001") == 1
    assert "nothing found for 1001" in capsys.readouterr().out
    assert not (home / "state" / "ledger.sqlite").exists()

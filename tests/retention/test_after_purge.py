"""What still works once her data is gone: the diff, the document dedupe, the order commands."""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import pytest

from etl.cli import main
from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.models import INACTIVE, STATE
from etl.retention.purge import purge_all
from etl.to_norce.documents.book import DocumentBook
from etl.to_norce.records import FileOutcome
from tests.support.retention_people import (
    CODE,
    CUSTOMER_ROW,
    EMAIL,
    NEWCOMER,
    add_customer,
    her_delivery_notes,
)
from tests.support.retention_seeding import PAST_ALL, current_customers, erp, run_one

LATER = PAST_ALL + dt.timedelta(days=1)


@pytest.fixture
def purged(seeded: Settings) -> Settings:
    purge_all(seeded, load_contracts(seeded), PAST_ALL)
    return seeded


def taken(outcomes: list[FileOutcome], feed: str, name: str) -> FileOutcome:
    """The feed's outcome for the file `name` (files taken before come again as duplicates)."""
    [outcome] = [o for o in outcomes if (o.feed, o.name) == (feed, name)]
    return outcome


def test_her_row_keeps_its_key_and_state_and_the_record_its_hash(purged: Settings) -> None:
    hers = current_customers(purged).filter(pl.col("code") == CODE)

    assert hers[STATE].to_list() == [INACTIVE]
    assert hers.drop("code", STATE).null_count().row(0) == (1,) * (hers.width - 2)
    record = pl.read_parquet(purged.folder("state") / "retention" / "customers.parquet")
    mine = record.filter(pl.col("code") == CODE).row(0, named=True)
    assert len(mine["row_sha256"]) == 64
    assert mine["purged_at"] == PAST_ALL.isoformat()


def test_the_diff_still_knows_she_left_and_takes_her_back(purged: Settings) -> None:
    add_customer(erp(purged), "kunder_20261122.csv", NEWCOMER)
    without_her = taken(run_one(purged, "customers", LATER), "customers", "kunder_20261122.csv")
    assert without_her.outcome == "committed", without_her.message
    assert without_her.counts["removals"] == 0  # never sent twice
    assert (without_her.counts["adds"], without_her.counts["reactivations"]) == (1, 0)

    both = f"{NEWCOMER}\r\n{CUSTOMER_ROW}"  # bytes not seen before: not a duplicate
    add_customer(erp(purged), "kunder_20261123.csv", both)
    back = taken(
        run_one(purged, "customers", LATER + dt.timedelta(days=1)),
        "customers",
        "kunder_20261123.csv",
    )
    assert back.outcome == "committed", (back.outcome, back.message, back.counts)
    assert back.counts["reactivations"] == 1
    batch = purged.folder("outbox") / "norce" / "customers" / "kunder_20261123-"
    sent = b"".join(p.read_bytes() for p in batch.parent.glob(f"{batch.name}*/*[!t].json"))
    assert EMAIL.encode() in sent and b'"IsActive":true' in sent


def test_a_reduced_document_dropped_again_is_still_known_as_sent(purged: Settings) -> None:
    again = erp(purged) / "delivery_notes" / "despatch_20261125.csv"
    again.write_bytes(her_delivery_notes() + b"\n")  # other bytes, the same documents

    run = taken(run_one(purged, "delivery_notes", LATER), "delivery_notes", "despatch_20261125.csv")

    assert run.outcome == "committed", run.message
    book = DocumentBook(purged.folder("state") / "ledger.sqlite")
    try:
        row = book.find("delivery_note", "DN-778899")
        conflicts = book.conflicts()
    finally:
        book.close()
    assert row is not None and row.state == "sent"
    assert row.document.startswith('{"purged_at"')
    assert conflicts == []
    resent = purged.folder("outbox") / "norce" / "delivery_notes" / "delivery_note-DN-778899.json"
    assert not resent.exists()


def test_orders_show_and_resend_say_her_body_is_gone(
    purged: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = str(purged.home / "etl.toml")

    assert main(["--config", config, "orders", "show", "1001"]) == 0
    assert "body 1: its body was removed by `run.py purge` on " in capsys.readouterr().out

    with caplog.at_level(logging.ERROR):
        assert main(["--config", config, "resend", "1001"]) == 1
    assert "order '1001' cannot be exported again: its body was removed by `run.py purge`" in (
        caplog.text
    )

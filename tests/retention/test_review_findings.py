"""The review of retention and `forget` (issue 20): a person back and gone, purged orders."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import sqlite3

import polars as pl

from etl.cli import _parser
from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.retention.purge import purge_all
from etl.state.locks import feed_lock
from tests.support.retention_people import CODE, CUSTOMER_ROW, NEWCOMER, add_customer
from tests.support.retention_seeding import (
    ORDER_DAYS,
    PAST_ALL,
    T1,
    current_customers,
    erp,
    run_one,
)


def test_a_person_back_and_removed_again_between_purges_is_reduced_again(
    seeded: Settings,
) -> None:
    purge_all(seeded, load_contracts(seeded), PAST_ALL)
    back, gone = PAST_ALL + dt.timedelta(days=1), PAST_ALL + dt.timedelta(days=2)
    add_customer(erp(seeded), "kunder_20270101.csv", f"{CUSTOMER_ROW}\r\n{NEWCOMER}")
    run_one(seeded, "customers", back)
    add_customer(erp(seeded), "kunder_20270102.csv", NEWCOMER)
    run_one(seeded, "customers", gone)

    purge_all(seeded, load_contracts(seeded), gone + dt.timedelta(days=200))

    hers = current_customers(seeded).filter(pl.col("code") == CODE)
    assert hers["email"].to_list() == [None]


def _forget(settings: Settings, code: str) -> str:
    parsed = _parser().parse_args(["forget", "--customer", code])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, settings, load_contracts(settings)) == 0
    return out.getvalue()


def test_forget_still_finds_her_order_after_the_body_purge(
    seeded: Settings,
) -> None:
    purge_all(seeded, load_contracts(seeded), T1 + dt.timedelta(days=ORDER_DAYS + 1))
    assert not list((seeded.folder("state") / "spool/orders").glob("1001-*.json"))

    printed = _forget(seeded, CODE)

    assert "and 1 order(s) (1001)" in printed
    db = sqlite3.connect(seeded.folder("state") / "ledger.sqlite")
    try:
        left = db.execute("SELECT COUNT(*) FROM order_buyers").fetchone()[0]
    finally:
        db.close()
    assert left == 0  # once forgotten, nothing links her to the order


def test_an_event_body_stays_until_every_layout_of_its_kind_settled_it(seeded: Settings) -> None:
    """Her event is settled by erp_customers_csv only; a second customer layout still needs it."""
    parties = seeded.home / "schemas" / "parties"
    text = (parties / "erp_customers_csv.toml").read_text(encoding="utf-8")
    (parties / "crm_customers_csv.toml").write_text(
        text.replace('name = "erp_customers_csv"', 'name = "crm_customers_csv"'), encoding="utf-8"
    )

    purge_all(seeded, load_contracts(seeded), PAST_ALL)

    assert list((seeded.folder("state") / "spool" / "parties").glob("CustomerChanged*.json"))


def test_the_retention_record_keeps_a_keyed_hash_and_forget_clears_hers(seeded: Settings) -> None:
    purge_all(seeded, load_contracts(seeded), PAST_ALL)
    path = seeded.folder("state") / "retention" / "customers.parquet"
    salt = (seeded.folder("state") / "privacy" / "salt").read_text(encoding="ascii").strip()
    reduced = current_customers(seeded).filter(pl.col("code") == CODE)
    assert reduced.height == 1 and len(salt) == 64  # the purge made the salt

    _forget(seeded, CODE)

    hers = pl.read_parquet(path).filter(pl.col("code") == CODE)
    assert hers["row_sha256"].to_list() == [None]


def test_the_body_purge_waits_while_forget_holds_the_spools(seeded: Settings) -> None:
    state = seeded.folder("state")
    with feed_lock(state / "locks", "retention-spools") as taken:
        assert taken  # as `forget` holds it while it masks the spools
        purge_all(seeded, load_contracts(seeded), T1 + dt.timedelta(days=ORDER_DAYS + 1))

    assert list((state / "spool" / "orders").glob("1001-*.json"))

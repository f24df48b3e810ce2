"""After `purge` past every retention, a known person is in no file under the home."""

from __future__ import annotations

import datetime as dt

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.retention.purge import purge_all
from tests.support.retention_people import where_she_rests
from tests.support.retention_seeding import ORDER_DAYS, PAST_ALL, T1


def test_past_every_retention_she_rests_nowhere(seeded: Settings) -> None:
    purged = purge_all(seeded, load_contracts(seeded), PAST_ALL)

    assert where_she_rests(seeded.home) == {}
    line = purged.line()
    assert line.startswith("purge removed: archive ")
    for part in (
        "snapshots 1 rows",  # hers; nobody else left the ERP
        "spool/orders 1 bodies",
        "spool/parties 1 bodies",
        "documents 3 bodies",  # the three delivery notes, one of them hers
        "outbox/checks 4 files",  # two reports (xlsx, csv) per feed that read the file
    ):
        assert part in line


def test_nothing_goes_before_its_retention(seeded: Settings) -> None:
    before = where_she_rests(seeded.home)
    contracts = load_contracts(seeded)

    purge_all(seeded, contracts, T1 + dt.timedelta(days=ORDER_DAYS - 1))
    assert where_she_rests(seeded.home) == before

    purge_all(seeded, contracts, T1 + dt.timedelta(days=ORDER_DAYS + 1))  # the orders' only
    left = {name for names in where_she_rests(seeded.home).values() for name in names}
    assert not [n for n in left if n.startswith(("state/spool/", "archive/orders/"))]
    assert {n.split("/")[0] + "/" + n.split("/")[1] for n in left} >= {
        "state/snapshots",
        "state/ledger.sqlite",
        "outbox/norce",
        "outbox/checks",
        "archive/customers",
    }


def test_a_dry_run_removes_nothing_and_says_what_would_go(seeded: Settings) -> None:
    before = where_she_rests(seeded.home)

    purged = purge_all(seeded, load_contracts(seeded), PAST_ALL, dry_run=True)

    assert where_she_rests(seeded.home) == before
    assert purged.line().startswith("purge would remove: archive ")
    assert "snapshots 1 rows" in purged.line()
    lines = [p.line(dry_run=True) for p in purged.places]
    assert "snapshots/customers: would reduce 1 rows, 0 younger than 90 days" in lines
    assert "spool/orders: would remove 1 bodies, 0 younger than 30 days" in lines

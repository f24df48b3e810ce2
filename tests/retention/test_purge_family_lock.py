"""The purge reduces a derived feed's snapshot (companies, read from the customers file) only
when that feed's family is idle: a companies run runs under the customers lock, so a purge
under the lock of its own name would replace the snapshot while the run diffs it."""

from __future__ import annotations

from etl.config.contract_files import load_contracts
from etl.config.settings import Settings
from etl.retention.purge import purge_all
from etl.state.locks import feed_lock
from tests.support.retention_seeding import PAST_ALL

SKIPPED = ["the feed is running; next purge"]


def test_the_purge_waits_while_the_companies_family_runs(seeded: Settings) -> None:
    contracts = load_contracts(seeded)
    assert contracts["companies"].source.from_feed == "customers"
    with feed_lock(seeded.home / "state" / "locks", "customers") as taken:  # a family's run
        assert taken
        done = purge_all(seeded, contracts, PAST_ALL)
    places = {p.name: p for p in done.places if p.name.startswith("snapshots/")}
    assert places["snapshots/customers"].skipped == SKIPPED
    assert places["snapshots/companies"].skipped == SKIPPED

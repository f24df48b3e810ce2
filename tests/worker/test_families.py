"""The lock of each job: feeds that any job runs together are one family."""

from __future__ import annotations

import os

from etl.config.contract_files import load_contracts
from etl.config.run_order import runs_with
from etl.config.settings import load_settings
from etl.worker.families import feed_families, lock_of


def test_feeds_run_together_by_any_job_share_one_lock() -> None:
    contracts = load_contracts(load_settings(None, os.environ, None))  # the shipped ones
    families = feed_families(contracts)
    # The prices job runs products first, the customers job runs products too: one family.
    assert [c.name for c in runs_with(contracts["prices"], contracts)] == ["products", "prices"]
    assert families["prices"] == families["products"] == families["customers"]
    assert families["products"].startswith("feeds:") and "stock" in families["products"]
    # A feed no other job runs is a family of its own.
    assert families["invoices"] == "feeds:invoices"
    assert len(set(families.values())) == len(families) - 5  # 6 feeds in one family
    # The feed read through `from_feed` runs inside its parent's job: it has no job of its own.
    assert "companies" not in families


def test_every_other_job_is_locked_by_its_own_name() -> None:
    assert lock_of("orders->erp_csv", {"products": "feeds:products"}) == "job:orders->erp_csv"
    assert lock_of("products", {"products": "feeds:products"}) == "feeds:products"

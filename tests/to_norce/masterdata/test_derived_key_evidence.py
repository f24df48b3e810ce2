"""A row whose key a feed read from another feed's file failed to derive is evidence, not noise.

A feed reading another's file (source.from_feed) skips the rows that are not about its entity
(a private customer has no company). A row whose company cell is there but whose key the
[derive] pattern could not read is about a company all the same: it is rejected, and since
its key is unreadable the run holds its removals instead of deactivating the company.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, Settings
from tests.support.customer_companies import COMPANIES as BASE_COMPANIES
from tests.support.customer_companies import CUSTOMERS
from tests.support.masterdata import run_once, settings_for

# Every removal goes through: these tests are about evidence, not the guard.
COMPANIES = BASE_COMPANIES + "[guard]\nmax_removals = 100\nmax_removal_ratio = 1.0\n"

HEADER = "ID,First,Last,Mail,Company,Org"


@pytest.fixture
def family(home: Path, tmp_path: Path) -> Settings:
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "customers.toml").write_text(CUSTOMERS, encoding="utf-8")
    (home / "schemas" / "companies.toml").write_text(COMPANIES, encoding="utf-8")
    (tmp_path / "erp" / "customers").mkdir(parents=True)
    return settings_for(home, LocalStoreSettings(root=tmp_path / "erp"))


def drop(settings: Settings, name: str, ericsson: str) -> None:
    rows = [
        "K1,Anna,Berg,anna@example.com,Volvo Bil AB (C-100),556012-5790",
        f"K2,Lena,Ek,lena@example.com,{ericsson},556016-0680",
        "K3,Bo,Ek,bo@example.com,,",  # a private customer: no company
    ]
    path = settings.stores["erp"].root / "customers" / name  # type: ignore[union-attr]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def removal_files(home: Path) -> list[Path]:
    return list((home / "outbox" / "norce" / "companies").glob("*/*remove*"))


def test_a_company_whose_derived_key_failed_is_rejected_and_holds_removals(
    family: Settings, home: Path
) -> None:
    drop(family, "kunder_1.csv", "Ericsson AB (C-200)")
    first = {o.feed: o for o in run_once(family, "customers")}
    assert first["companies"].counts["adds"] == 2

    drop(family, "kunder_2.csv", "Ericsson AB [C-200]")  # the ERP changed its brackets
    second = {o.feed: o for o in run_once(family, "customers")}["companies"]

    assert second.outcome == "committed"
    assert (second.counts["rejected"], second.counts["removals"]) == (1, 0)
    assert second.counts["held"] == 1  # C-200 is not deactivated on a row it could not read
    assert removal_files(home) == []

"""Which repeated content is processed again: the feed's dedupe rule, and rejected files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings
from tests.support.masterdata import run_once, settings_for, write_cp1252_products

A = ["100123;ACME;Acme AB;AG-1;AG-1;Handske;;GLOVES;;25;0,12"]
B = ["100123;ACME;Acme AB;AG-1;AG-1;Handske ny;;GLOVES;;25;0,12"]


def _drop(erp: Path, name: str, rows: list[str]) -> None:
    write_cp1252_products(erp / "products" / name, rows)


@pytest.mark.parametrize(("dedupe", "third"), [("any", "duplicate"), ("latest", "committed")])
def test_content_that_comes_back_after_other_content(
    home: Path, tmp_path: Path, dedupe: str, third: str
) -> None:
    contract = home / "schemas" / "products.toml"
    contract.write_text(
        contract.read_text().replace(
            'after_commit = "move"', f'after_commit = "move"\ndedupe = "{dedupe}"'
        )
    )
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    outcomes = []
    for name, rows in (("products_1.csv", A), ("products_2.csv", B), ("products_3.csv", A)):
        _drop(erp, name, rows)
        outcomes += [o.outcome for o in run_once(settings, "products")]
    assert outcomes == ["committed", "committed", third]
    # Under either rule, the content the snapshot already came from is never re-sent.
    _drop(erp, "products_4.csv", A)
    [fourth] = run_once(settings, "products")
    assert fourth.outcome == "duplicate"


def test_rejected_content_is_looked_at_again_once_the_contract_is_fixed(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    contract = home / "schemas" / "products.toml"
    good = contract.read_text()
    contract.write_text(good.replace('"Artikelnr" = "part_no"', '"Artikel" = "part_no"'))
    _drop(erp, "products_1.csv", A)
    [first] = run_once(settings, "products")
    assert first.outcome == "rejected" and "missing column" in first.message

    contract.write_text(good)
    shutil.copy(
        erp / "products" / "rejected" / "products_1.csv", erp / "products" / "products_1-resent.csv"
    )
    [second] = run_once(settings, "products")
    assert second.outcome == "committed"

"""An operator narrows the products contract's key to the entity's (["part_no"]) after a run
under ["part_no", "manufacturer_code"]: the next run meets a part_no its snapshot holds twice.
It must commit (as before the key-only diff), never end the process in a Polars panic."""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import LocalStoreSettings
from tests.support.masterdata import run_once, settings_for, write_cp1252_products

FIRST = [
    "100123;ACME;Acme AB;AG-1;AG-1;Handske;;GLOVES;;25;0,12",
    "100123;BRIGHT;Bright Oy;BL-1;BL-1;Handske B;;GLOVES;;25;0,12",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa;;LIGHTS;;25;0,21",
]
SECOND = [
    "100123;ACME;Acme AB;AG-1;AG-1;Handske ny;;GLOVES;;25;0,12",
    "100200;BRIGHT;Bright Oy;BL-2000;BL-2000;Pannlampa;;LIGHTS;;25;0,21",
]


def test_a_run_after_the_key_was_narrowed_commits(home: Path, tmp_path: Path) -> None:
    contract = home / "schemas" / "products.toml"
    plain = contract.read_text(encoding="utf-8")
    contract.write_text('key = ["part_no", "manufacturer_code"]\n' + plain, encoding="utf-8")
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    settings = settings_for(home, LocalStoreSettings(root=erp))
    write_cp1252_products(erp / "products" / "products_1.csv", FIRST)
    [first] = run_once(settings, "products")
    assert first.outcome == "committed", first.message
    contract.write_text(plain, encoding="utf-8")
    write_cp1252_products(erp / "products" / "products_2.csv", SECOND)
    [second] = run_once(settings, "products")
    assert second.outcome == "committed", second.message

"""A file whose content every feed already took says why it is skipped.

The products feed's file is read by a prices feed after it. The same content again under
another name is a duplicate for products, and the prices feed committed it before: the
line for that used to be a bare `skipped`, which a newcomer could not explain.
"""

from __future__ import annotations

from pathlib import Path

from etl.config.settings import LocalStoreSettings, Settings
from tests.support.article_feeds import PRICES, PRODUCTS, write
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin


def test_a_repeated_file_is_skipped_with_its_reason(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp-drop"
    (erp / "articles").mkdir(parents=True)
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    (home / "schemas" / "articles.toml").write_text(PRODUCTS, encoding="utf-8")
    (home / "schemas" / "article_prices.toml").write_text(PRICES, encoding="utf-8")
    settings: Settings = settings_for(home, LocalStoreSettings(root=erp), norce.settings())
    write(erp, "articles_1.csv", ["A1,ACME,Glove,B2C,SEK,99"])
    run_once(settings, "articles")
    write(erp, "articles_2.csv", ["A1,ACME,Glove,B2C,SEK,99"])

    again = run_once(settings, "articles")

    skipped = [o for o in again if o.outcome == "skipped"]
    assert [o.outcome for o in again] == ["duplicate", "skipped"]
    assert skipped[0].message == "feed article_prices already committed this content"

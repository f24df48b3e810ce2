"""Rows the snapshots reject after validation (settle), and the copies merged into them.

Review r2 (c2, c2b): copies of a row that settle rejected were still counted as merged and
their lines left the report; a reference to a record switched off read "send it there first".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.models import ACTIVE, INACTIVE, STATE, Validated
from etl.read.references import holdings, settle
from tests.fixtures.feeds import check, contract_from

CONTRACT = """
[feed]
entity = "price"
[format]
type = "csv"
[columns]
"sku" = "part_no"
"price" = "price_sale"
"active" = "is_active"
[defaults]
price_list_code = "STD"
currency = "SEK"
quantity_break = "1"
[checks]
same_key_rows = "merge_identical"
[references]
part_no = "articles.part_no"
"""

# The articles feed holds A live, and B switched off (inactive), X in no state at all.
ARTICLES = pl.DataFrame({"part_no": ["A", "B"], STATE: [ACTIVE, INACTIVE]})


def settled(tmp_path: Path, *rows: str, own: list[str] | None = None) -> Validated:
    path = tmp_path / "p.csv"
    path.write_text("\n".join(["sku,price,active", *rows]) + "\n", encoding="utf-8")
    contract = contract_from(CONTRACT, tmp_path, "prices")
    snapshot = pl.DataFrame({"part_no": own or []}, schema={"part_no": pl.String})
    for k in contract.key_fields:
        if k != "part_no":
            snapshot = snapshot.with_columns(pl.lit(None, pl.String).alias(k))
    known = holdings(contract, snapshot, lambda feed, other: ARTICLES.select(other, STATE))
    return settle(check(path, contract, tmp_path / "scratch"), contract, known)


def test_copies_of_a_row_naming_an_unknown_record_are_rejected_on_their_own_lines(
    tmp_path: Path,
) -> None:
    validated = settled(tmp_path, "A,10,1", "X,5,1", "X,5,1", "A,10,1")

    assert validated.rejections.select("line", "code").rows() == [
        (3, "unknown_reference"),
        (4, "unknown_reference"),
    ]
    assert validated.rejected_rows == 2
    assert validated.merged.count == 1  # line 5 into line 2, which was applied
    assert [m.into for m in validated.merged.examples] == [2]


def test_copies_of_a_new_row_forgiven_then_restored_are_rejected_too(tmp_path: Path) -> None:
    # A new article marked inactive with an empty price: Norce never had it, so it is an
    # add with a bad cell after all (etl.read.deactivations.restore_new), and so is its copy.
    validated = settled(tmp_path, "A,,0", "A,,0")

    assert validated.rejections.select("line", "code").rows() == [(2, "required"), (3, "required")]
    assert validated.merged.count == 0
    assert validated.merged.examples == ()


def test_a_reference_to_a_record_switched_off_says_it_is_inactive(tmp_path: Path) -> None:
    validated = settled(tmp_path, "B,10,1", "X,5,1")

    messages = dict(validated.rejections.select("line", "message").iter_rows())
    assert "'B' is inactive in feed 'articles'" in messages[2]
    assert "send it there first" not in messages[2]
    assert "'X' is not known" in messages[3]

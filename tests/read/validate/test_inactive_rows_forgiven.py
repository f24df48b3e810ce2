"""A row marked inactive with its key read cleanly is taken, its failed cells null and kept apart.

Review D c4: `B,,0`, `C,30.123456,0` and `D,0,0` (price emptied, a stale value, the ERP's
"discontinued" 0) were rejected, so the diff spared them and they stayed active in Norce.
"""

from __future__ import annotations

from pathlib import Path

from etl.models import Validated
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
"""


def read(tmp_path: Path, *rows: str) -> Validated:
    path = tmp_path / "p.csv"
    path.write_text("\n".join(["sku,price,active", *rows]) + "\n", encoding="utf-8")
    return check(path, contract_from(CONTRACT, tmp_path, "prices"), tmp_path / "scratch")


def test_failed_cells_of_a_row_marked_inactive_do_not_reject_it(tmp_path: Path) -> None:
    validated = read(tmp_path, "A,10,1", "B,,0", "C,30.123456,0", "D,0,0")

    assert validated.rejections.height == 0
    assert validated.valid.select("part_no", "price_sale").rows() == [
        ("A", 10),
        ("B", None),
        ("C", None),
        ("D", None),  # failed its range check: null, never sent
    ]
    assert validated.forgiven.select("line", "code").rows() == [
        (3, "required"),
        (4, "type"),
        (5, "range"),
    ]


def test_an_active_row_a_bad_flag_or_a_duplicate_key_is_still_rejected(tmp_path: Path) -> None:
    validated = read(tmp_path, "A,,1", "B,,x", "C,,0", "C,5,0")

    assert validated.valid.height == 0
    assert sorted(set(validated.rejections["line"].to_list())) == [2, 3, 4, 5]

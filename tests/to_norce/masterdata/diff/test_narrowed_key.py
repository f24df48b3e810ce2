"""A snapshot holding a key twice: the contract's key was narrowed since it was written.

(["part_no", "manufacturer_code"] -> ["part_no"].) The key-only join met a part_no twice and
Polars panicked; the diff must give what the join of whole rows gave: each file row beside
every snapshot row of its key, and a snapshot that holds the key once again.
"""

from __future__ import annotations

import pytest

from etl.models import LINE, STATE
from etl.to_norce.masterdata.diff import apply, diff
from tests.support.frames import PRODUCT, file_rows, keys, product, records, snapshot

KEY = ["part_no"]
OLD = snapshot(
    PRODUCT,
    [
        product("P1", "Glove"),
        product("P1", "Glove left", manufacturer_code="BRIGHT"),
        product("P2"),
    ],
)
NEW = file_rows(PRODUCT, [product("P1", "Glove new"), product("P3")])


@pytest.mark.parametrize("full_export", [True, False])
def test_each_file_row_is_compared_with_every_snapshot_row_of_its_key(full_export: bool) -> None:
    delta = diff(OLD.lazy(), NEW, keys(PRODUCT, []), KEY, full_export)
    changed = sorted(
        (r["part_no"], r["name"], tuple(r["_changed"])) for r in delta.changes.to_dicts()
    )
    assert changed == [
        ("P1", "Glove new", ("manufacturer_code", "name")),
        ("P1", "Glove new", ("name",)),
    ]
    assert delta.adds.get_column("part_no").to_list() == ["P3"]
    removed = delta.removals.get_column("part_no").to_list()
    assert removed == (["P2"] if full_export else [])


def test_the_next_snapshot_holds_the_key_once_again() -> None:
    delta = diff(OLD.lazy(), NEW, keys(PRODUCT, []), KEY, True)
    after = apply(OLD.lazy(), NEW.drop(LINE), delta, KEY, True)
    rows = records(after.select("part_no", "manufacturer_code", "name", STATE))
    assert rows == [
        {"part_no": "P1", "manufacturer_code": "ACME", "name": "Glove new", STATE: "active"},
        {"part_no": "P2", "manufacturer_code": "ACME", "name": "Glove", STATE: "inactive"},
        {"part_no": "P3", "manufacturer_code": "ACME", "name": "Glove", STATE: "active"},
    ]

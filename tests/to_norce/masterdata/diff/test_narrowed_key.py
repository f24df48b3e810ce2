"""A snapshot holding a key twice: the contract's key was narrowed since it was written.

(["part_no", "manufacturer_code"] -> ["part_no"].) The key-only join met a part_no twice and
Polars panicked; the diff must give what the join of whole rows gave: each file row beside
every snapshot row of its key, and a snapshot that holds the key once again.
"""

from __future__ import annotations

import pytest

from etl.models import LINE, STATE
from etl.to_norce.masterdata.diff import apply, diff, guard
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


@pytest.mark.parametrize("guard_holds", [False, True])
@pytest.mark.parametrize("twin_state", ["inactive", "active"])
def test_twins_the_file_left_are_moved_once_each_and_only_when_live(
    guard_holds: bool, twin_state: str
) -> None:
    # Found by review: the move to inactive or held was joined on the key alone, so a twin
    # already inactive was held too (its approval deactivated it in Norce again), and two
    # live twins each met both removals: four rows in the next snapshot for two.
    old = snapshot(
        PRODUCT,
        [
            product("P1", "Glove"),
            {**product("P1", "Glove left", manufacturer_code="BRIGHT"), STATE: twin_state},
            product("P2"),
        ],
    )
    new = file_rows(PRODUCT, [product("P2")])
    delta = diff(old.lazy(), new, keys(PRODUCT, []), KEY, True)
    delta, reason = guard(delta, 3, 1, 0 if guard_holds else 100, 0.0)
    assert (reason is not None) == guard_holds
    after = apply(old.lazy(), new.drop(LINE), delta, KEY, True)
    moved = "held" if guard_holds else "inactive"
    twin = moved if twin_state == "active" else "inactive"
    assert sorted(records(after.select("part_no", "manufacturer_code", STATE)), key=str) == sorted(
        [
            {"part_no": "P1", "manufacturer_code": "ACME", STATE: moved},
            {"part_no": "P1", "manufacturer_code": "BRIGHT", STATE: twin},
            {"part_no": "P2", "manufacturer_code": "ACME", STATE: "active"},
        ],
        key=str,
    )

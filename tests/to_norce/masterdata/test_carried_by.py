"""Each trail row names the call that carried its key: the first such call, or none.

A go-live's trail is its adds, sent in file order: there the calls are read off one for one,
without the join on every key. Either way the result is what the join of every sent key
(first label kept) gives, which this test computes the plain way.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.entities.calls import NorceCall
from etl.to_norce.masterdata.staging import carried_by
from tests.fixtures.feeds import shipped

KEY = ["part_no"]


def _call(label: str, keys: list[str | None]) -> NorceCall:
    rows = pl.DataFrame({"part_no": keys}, schema={"part_no": pl.String})
    return NorceCall("Product/ImportProducts", {}, [], label, rows=rows)


def _trail(keys: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"key": keys, "action": ["add"] * len(keys)},
        schema={"key": pl.String, "action": pl.String},
    )


def _joined(trail: pl.DataFrame, calls: list[NorceCall]) -> pl.DataFrame:
    """The plain way: every sent key with its call's label, the first kept, joined."""
    sent = pl.concat(
        [
            c.rows.select(pl.col("part_no").alias("key"), pl.lit(c.label).alias("request"))
            for c in calls
            if c.rows is not None
        ]
    ).unique("key", keep="first", maintain_order=True)
    return trail.join(sent, on="key", how="left", maintain_order="left")


CASES = {
    "a go-live, in order": (
        ["A", "B", "C", "D"],
        [("0001-add", ["A", "B"]), ("0002-add", ["C", "D"])],
    ),
    "out of order": (["A", "B", "C"], [("0001-add", ["C"]), ("0002-add", ["A", "B"])]),
    "a key sent twice": (["A", "B"], [("0001-add", ["A", "B"]), ("0002-change", ["B"])]),
    "in order, a key twice": (["A", "A"], [("0001-add", ["A"]), ("0002-change", ["A"])]),
    "a row not sent": (["A", "B", "C"], [("0001-add", ["A", "C"])]),
    "a null key": ([None, "B"], [("0001-add", [None, "B"])]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_row_names_the_first_call_that_carried_its_key(case: str) -> None:
    keys, sent = CASES[case]
    calls = [_call(label, rows) for label, rows in sent]
    trail = _trail(keys)
    assert_frame_equal(carried_by(trail, calls, shipped("products")), _joined(trail, calls))


def test_no_call_leaves_every_request_empty() -> None:
    trail = _trail(["A"])
    found = carried_by(trail, [], shipped("products"))
    assert found.get_column("request").to_list() == [None]

"""`read` gives the snapshot's rows with exactly today's fields, whichever it is asked for.

It reads only the columns asked for; held here to the rule as stated on the whole file:
each asked field's column in the order asked (empty, of its type, if the file lacks it),
then the state; columns not asked for, or the entity no longer has, are left out.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.models import ACTIVE, INACTIVE, STATE
from etl.state.snapshots import SnapshotStore
from tests.support.frames import PRODUCT, product, snapshot

ASKED = {
    "the key alone": ["part_no"],
    "two, out of file order": ["name", "part_no"],
    "every field": list(PRODUCT.fields()),
    "one the file lacks": ["part_no", "ean"],
}


def _expected(whole: pl.DataFrame, fields: dict[str, pl.DataType]) -> pl.DataFrame:
    columns = {
        f: whole[f] if f in whole.columns else pl.Series(f, [None] * whole.height, dtype=t)
        for f, t in fields.items()
    }
    return pl.DataFrame([*columns.values(), whole[STATE]])


@pytest.mark.parametrize("asked", ASKED.values(), ids=list(ASKED))
def test_read_keeps_the_asked_fields_as_the_whole_file_has_them(
    tmp_path: Path, asked: list[str]
) -> None:
    rows = [product(f"P{n:03d}", f"Glove {n}", **{STATE: ACTIVE}) for n in range(30)]
    rows += [product("Q1", "Gone", **{STATE: INACTIVE})]
    frame = snapshot(PRODUCT, rows).drop("ean").with_columns(pl.lit("x").alias("retired"))
    store = SnapshotStore(tmp_path)
    relative = store.write("products", "run-1", frame)
    fields = {f: PRODUCT.fields()[f] for f in asked}

    got = store.read(relative, fields)

    assert got.columns == [*asked, STATE]
    assert_frame_equal(got, _expected(pl.read_parquet(tmp_path / relative), fields))

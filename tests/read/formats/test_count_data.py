"""`count_data` counts a block's quotes only when it has one: its counts are still every
token of the data after the header, as counting each block outright gives them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.read.formats.csv_bounds import count_data
from etl.read.formats.csv_dialect import Head
from tests.fixtures.feeds import price_contract

HEADER = "ItemNo,PriceList,Qty,Currency,Price,Cost"


@settings(max_examples=60, deadline=None)
@given(data=st.text(alphabet='ab,"\n\r', max_size=200))
def test_counts_are_the_tokens_after_the_header(data: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "prices.csv"
        path.write_bytes(f"{HEADER}\n{data}".encode())
        head = Head(1, tuple(HEADER.split(",")), len(HEADER) + 1, 2)

        counts = count_data(path, head, price_contract(folder, "").format)

    raw = data.encode()
    assert (counts.quotes, counts.delimiters, counts.newlines) == (
        raw.count(b'"'),
        raw.count(b","),
        raw.count(b"\n"),
    )

"""The batches' valid rows hold a field no row has (one the contract does not carry) as one null.

At ten million rows a date column of nulls is 160 MB of the valid rows' frame. Read in
batches, such a column is one null and a length; the frame is still equal to the
whole-file path's, column order, dtypes and all, and so is what the rows become in the
diff, the payloads and the next snapshot (tests/to_norce/masterdata/
test_batched_run_same_output.py runs whole feeds both ways).
"""

from __future__ import annotations

from pathlib import Path

from polars.testing import assert_frame_equal

from etl.models import LINE
from etl.read.batched import batchable, validated_in_batches
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import PRODUCTS_HEADER, shipped

ROWS = 2_000


def _products(path: Path) -> Path:
    """A shipped-dialect products file; every 97th row has an EAN with a wrong check digit."""
    body = []
    for n in range(ROWS):
        ean = "7350000000017" if n % 97 == 5 else "7350000000016"
        text = "Läder \u2013 \u20ac" if n % 3 else ""  # an empty description: a null
        body.append(f"{n:07d};ACME;Acme AB;AG-{n};PG-{n // 4};Handske {n};{text};CAT;{ean};25;0,5")
    path.write_bytes(("\r\n".join([PRODUCTS_HEADER, *body]) + "\r\n").encode("cp1252"))
    return path


def test_a_field_no_row_has_takes_no_room_and_the_rows_are_the_whole_files(
    tmp_path: Path,
) -> None:
    contract = shipped("products")
    path = _products(tmp_path / "products.csv")
    batched = validated_in_batches(path, contract, tmp_path / "scratch", rows=300)
    assert batched is not None and batched.rejected_rows == 21
    valid = batched.valid
    uncarried = [c for c in valid.columns if c not in contract.carried_fields() and c != LINE]
    # Measured first: taking a column out of the frame (`frame[c]`, a comparison) makes
    # polars materialise a literal one, and keep that. Materialised, a date column of 1,979
    # nulls is 16 KB; held as one null, a few bytes.
    room = valid.estimated_size() - valid.drop(uncarried).estimated_size()
    assert uncarried and room < 64 * len(uncarried), room
    # The column of a carried field with some nulls (descriptions) is an ordinary one.
    assert valid.select("description").estimated_size() > valid.height
    assert not batchable(path, contract)  # far below the threshold: the whole-file path
    whole = parse_and_validate(path, contract, tmp_path / "scratch")
    assert_frame_equal(batched.valid, whole.valid)
    assert all(valid[c].null_count() == valid.height for c in uncarried)

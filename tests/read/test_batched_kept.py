"""A batched read gives the same Validated whether its valid rows wait in memory or on disk.

Below `KEPT_BELOW_BYTES` the batches' valid rows stay in memory; above it they are written to
Parquet and read back. The two must not differ in any row, value, type or column (dates,
decimals, codes, columns null in every row), nor from the whole-file read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.read.batched import KEPT_BELOW_BYTES, validated_in_batches
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import PRODUCTS_HEADER, shipped
from tests.support.validated import assert_same_validated

# Cells of the shipped products contract (cp1252, decimal comma), with what breaks a row:
# a code with a space, an EAN with a bad check digit, a rate out of range, a dot decimal.
PART_NOS = ["A1", "B-2", " C3 ", "D 4", "", "É5"]
NAMES = ["Handske", " Skruv € ", "Kabel \u2013 2 m", "", "\u00a0Lampa"]
EANS = ["7350000000016", "7350000000017", "", " 7350000000016 "]
RATES = ["25", "12,5", "", "101", "6.0", "x"]
WEIGHTS = ["0,125", "1", "", "-1", "2,12345", " 3,5 "]
ROWS = st.lists(
    st.tuples(
        st.sampled_from(PART_NOS),
        st.sampled_from(NAMES),
        st.sampled_from(EANS),
        st.sampled_from(RATES),
        st.sampled_from(WEIGHTS),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda r: r[0].strip(),  # a key in two batches reads the file whole
)
# (line end, what the file starts with): the shipped dialect has no BOM in cp1252.
ENDS = ["\r\n", "\n"]


def _file(folder: Path, rows: list[tuple[str, str, str, str, str]], end: str) -> Path:
    lines = [PRODUCTS_HEADER]
    for part_no, name, ean, rate, weight in rows:
        lines.append(f"{part_no};ACME;Acme AB;AG;PG;{name};;CAT;{ean};{rate};{weight}")
    path = folder / "products.csv"
    path.write_bytes((end.join(lines) + end).encode("cp1252"))
    return path


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, size=st.integers(1, 4), end=st.sampled_from(ENDS))
def test_valid_rows_kept_in_memory_or_spilled_give_the_same_validated(
    rows: list[tuple[str, str, str, str, str]], size: int, end: str
) -> None:
    contract = shipped("products")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _file(folder, rows, end)
        scratch = folder / "scratch"
        kept = validated_in_batches(path, contract, scratch, rows=size)
        spilled = validated_in_batches(path, contract, scratch, rows=size, kept_below=0)
        whole = parse_and_validate(path, contract, scratch)
        left = [p.name for p in scratch.iterdir()]
    assert kept is not None and spilled is not None
    assert_same_validated(kept, spilled)
    assert_same_validated(kept, whole)
    assert not left  # neither way leaves anything in the parser's scratch


def test_a_file_under_the_bound_keeps_its_rows_in_memory(tmp_path: Path) -> None:
    # The bound is what decides: a file of its size or more is spilled (and gives the same).
    path = _file(tmp_path, [("A1", "Handske", "", "25", "1")], "\r\n")
    size = path.stat().st_size
    contract = shipped("products")
    scratch = tmp_path / "scratch"
    assert size < KEPT_BELOW_BYTES
    at_bound = validated_in_batches(path, contract, scratch, rows=1, kept_below=size)
    under = validated_in_batches(path, contract, scratch, rows=1, kept_below=size + 1)
    assert at_bound is not None and under is not None
    assert_same_validated(at_bound, under)
    assert at_bound.valid["part_no"].to_list() == ["A1"]

"""A big CSV file validated a batch at a time gives what the whole-file path gives, or None."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contracts import FeedContract
from etl.models import Validated
from etl.read.batched import batchable, validated_in_batches
from etl.read.formats.csv_batches import NotPlain, csv_batches
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import PRODUCTS_HEADER, price_contract, shipped
from tests.support.validated import assert_same_validated

PRICES = 'encoding = "cp1252"\ndelimiter = ";"\ndecimal = ","'
# A cell that breaks a price row: (cell index, text). Each is a rejection of its own kind.
DEFECTS = {"currency": (3, "sek"), "zero": (4, "0"), "word": (4, "tio"), "no list": (1, "")}
rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", "E", "F", "G", "H"]),  # duplicates happen
        st.sampled_from([None, None, *DEFECTS]),
        st.sampled_from(["", " ", "  "]),  # spaces the reader trims
    ),
    min_size=1,
    max_size=14,
)


def _price_file(folder: Path, picked: list[tuple[str, str | None, str]]) -> Path:
    lines = ["ItemNo;PriceList;Qty;Currency;Price;Cost"]
    for part_no, defect, pad in picked:
        cells = [pad + part_no, "L", "1", "SEK", "9,5" + pad, "1"]
        if defect:
            at, text = DEFECTS[defect]
            cells[at] = text
        lines.append(";".join(cells))
    path = folder / "p.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def _whole(path: Path, contract: FeedContract, scratch: Path) -> Validated:
    """The whole-file path (the file is far below the size batches start at)."""
    assert not batchable(path, contract)
    return parse_and_validate(path, contract, scratch)


@settings(max_examples=25, deadline=None)
@given(picked=rows, size=st.integers(1, 5))
def test_batches_give_the_whole_files_result(
    picked: list[tuple[str, str | None, str]], size: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _price_file(folder, picked)
        contract = price_contract(folder, PRICES)
        batched = validated_in_batches(path, contract, folder / "scratch", rows=size)
        whole = _whole(path, contract, folder / "scratch")
        left = list((folder / "scratch").iterdir())
    keyed = [(n // size, p) for n, (p, d, _) in enumerate(picked) if d != "no list"]
    across = any(len({b for b, q in keyed if q == p}) > 1 for _, p in keyed)
    if across:  # a key in two batches: only the whole file names all its lines
        assert batched is None
    else:
        assert batched is not None
        assert_same_validated(batched, whole)
    assert not left  # the batches' valid rows do not outlive the read


def test_products_in_batches_match_the_whole_file(tmp_path: Path) -> None:
    contract = shipped("products")
    body = []
    for n in range(40):
        ean = "7350000000016" if n % 9 else "7350000000017"  # every ninth: a bad check digit
        body.append(
            f"{n:07d};ACME;Acme AB;AG-{n};PG-{n // 4};Handske {n};;CAT;{ean};25;0,1{n % 10}"
        )
    path = tmp_path / "products.csv"
    path.write_bytes(("\r\n".join([PRODUCTS_HEADER, *body]) + "\r\n").encode("cp1252"))
    batched = validated_in_batches(path, contract, tmp_path / "scratch", rows=7)
    assert batched is not None and batched.rejected_rows == 5
    assert_same_validated(batched, _whole(path, contract, tmp_path / "scratch"))


def _batches(path: Path, contract: FeedContract, scratch: Path) -> list[pl.DataFrame]:
    return [p.frame for p in csv_batches(path, contract.format, scratch, rows=2)]


def test_only_plain_files_are_read_in_batches(tmp_path: Path) -> None:
    contract = price_contract(tmp_path, PRICES)
    head = "ItemNo;PriceList;Qty;Currency;Price;Cost"
    row = "A;L;1;SEK;9,5;1"
    shapes = {
        "quoted": [head, row, '"B";L;1;SEK;9,5;1'],
        "blank line": [head, row, "", "B;L;1;SEK;9,5;1"],
        "short record": [head, row, "B;L;1;SEK;9,5"],
        "no field": [head, row, ";;;;;"],
    }
    for name, lines in shapes.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
        try:
            _batches(path, contract, tmp_path / "scratch")
        except NotPlain:
            pass
        else:
            raise AssertionError(f"{name}: read in batches")
        assert validated_in_batches(path, contract, tmp_path / "scratch", rows=2) is None


def test_lines_are_numbered_across_batches(tmp_path: Path) -> None:
    contract = price_contract(tmp_path, PRICES)
    lines = ["ItemNo;PriceList;Qty;Currency;Price;Cost", *(f"{c};L;1;SEK;9,5;1" for c in "ABCDE")]
    path = tmp_path / "p.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    frames = _batches(path, contract, tmp_path / "scratch")
    assert [f.height for f in frames] == [2, 2, 1]
    assert pl.concat(frames).get_column("_line").to_list() == [2, 3, 4, 5, 6]


def test_only_big_csv_files_of_their_own_are_batched(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"ItemNo;PriceList;Qty;Currency;Price;Cost\r\nA;L;1;SEK;9,5;1\r\n")
    contract = price_contract(tmp_path, PRICES)
    assert batchable(path, contract, min_bytes=1)
    assert not batchable(path, contract)  # small: read whole
    merging = price_contract(tmp_path, PRICES, '[checks]\nsame_key_rows = "merge_identical"')
    assert not batchable(path, merging, min_bytes=1)

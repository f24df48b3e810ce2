"""A file read by several feeds (`from_feed`) is parsed once per run; each feed checks its own columns.

The parses are counted by a Python audit hook on the file's opening by the reader's first
step (`as_utf8`, which every CSV parse starts with, reading the file's head), so the count
is the reader's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from bench.truth_exports import DIALECTS, FEEDS, contracts, row, write
from etl.config.contract_files import load_contracts
from etl.config.settings import LocalStoreSettings, Settings
from etl.read.formats import read_file
from etl.to_norce.parsed import SharedParse, reader_key
from tests.support.masterdata import run_once, settings_for

_COUNTING: list[int] = []  # while a test counts: [parses so far]


def _count_parses(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: one more parse when the CSV reader's first step opens a file."""
    if not _COUNTING or event != "open" or "r" not in str(args[1]):
        return  # as_utf8 also writes a UTF-8 copy of a file in another encoding
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name in ("open", "_open", "_count_parses"):
        frame = frame.f_back  # Path.open -> io.open: the caller is further up
    if frame is not None and frame.f_code.co_name == "as_utf8":
        _COUNTING[0] += 1


sys.addaudithook(_count_parses)  # an audit hook cannot be removed; it counts only when asked


@pytest.fixture
def parses() -> Iterator[list[int]]:
    _COUNTING[:] = [0]
    yield _COUNTING
    _COUNTING.clear()


def _family(home: Path, tmp_path: Path, dialect: str, feeds: tuple[str, ...]) -> Settings:
    """A home whose only contracts are `feeds` of the flat export (products picks it up)."""
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    for name, text in contracts(DIALECTS[dialect]).items():
        if name in feeds:
            (home / "schemas" / f"{name}.toml").write_text(text, encoding="utf-8")
    drop = tmp_path / "drop"
    (drop / "flat").mkdir(parents=True)
    return settings_for(home, LocalStoreSettings(root=drop))


def _drop(settings: Settings, name: str, rows: list[dict[str, str]], dialect: str) -> None:
    store = settings.stores["erp"]
    assert isinstance(store, LocalStoreSettings)
    write(store.root / "flat" / name, rows, DIALECTS[dialect])


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_three_feeds_parse_their_one_file_once(
    home: Path, tmp_path: Path, parses: list[int], dialect: str
) -> None:
    settings = _family(home, tmp_path, dialect, FEEDS)
    _drop(settings, "flat_1.csv", [row(n) for n in range(40)], dialect)

    outcomes = run_once(settings, "products")

    assert [(o.feed, o.outcome) for o in outcomes] == [(f, "committed") for f in FEEDS]
    assert parses == [1]


def test_each_file_of_a_pass_is_parsed_once(home: Path, tmp_path: Path, parses: list[int]) -> None:
    settings = _family(home, tmp_path, "utf8", FEEDS)
    _drop(settings, "flat_1.csv", [row(n) for n in range(40)], "utf8")
    _drop(settings, "flat_2.csv", [row(n) for n in range(5, 45)], "utf8")

    outcomes = run_once(settings, "products")

    assert [o.outcome for o in outcomes] == ["committed"] * 6
    assert parses == [2]


def _rejected_lines(home: Path, feed: str, run_id: str) -> set[int]:
    [report] = list((home / "archive" / feed).glob(f"*/{run_id}/*.rejected.csv"))
    lines = pl.read_csv(report, infer_schema=False)
    column = next(c for c in lines.columns if c.lower().startswith("line"))
    return {int(n) for n in lines[column].drop_nulls().to_list()}


def test_a_feed_rejects_only_rows_bad_in_its_own_columns(home: Path, tmp_path: Path) -> None:
    settings = _family(home, tmp_path, "cp1252", FEEDS)
    _drop(settings, "flat_1.csv", [row(n) for n in range(30)], "cp1252")
    run_once(settings, "products")  # every SKU known: a price's SKU stays valid in Norce
    rows = [row(n) for n in range(30)]
    rows[3]["ean"] = "7350000000001"  # products' column: a wrong check digit
    rows[7]["price"] = "-5.50"  # prices' column
    rows[11]["onhand"] = "many"  # stock's column
    _drop(settings, "flat_2.csv", rows, "cp1252")

    outcomes = {o.feed: o for o in run_once(settings, "products")}

    # Line 1 is the header: row i is on line i + 2.
    expected = {"products": {5}, "prices": {9}, "stock": {13}}
    for feed, lines in expected.items():
        run = outcomes[feed]
        assert run.outcome == "committed"
        assert (feed, run.counts["rejected"], run.counts["accepted"]) == (feed, 1, 29), run.message
        assert _rejected_lines(home, feed, run.run_id or "") == lines


def test_feeds_reading_a_file_another_way_get_their_own_parse(home: Path, tmp_path: Path) -> None:
    settings = _family(home, tmp_path, "utf8", FEEDS)
    local = tmp_path / "flat.csv"
    write(local, [row(n) for n in range(10)], DIALECTS["utf8"])
    family = load_contracts(settings)
    other = family["prices"].model_copy(
        update={"format": family["prices"].format.model_copy(update={"null_values": ("-",)})}
    )
    shared = SharedParse()
    shared.expect([family["products"], family["stock"], other])

    first = shared.read(local, family["products"], tmp_path)
    again = shared.read(local, family["stock"], tmp_path)
    own = shared.read(local, other, tmp_path)

    assert shared.reads == 2 and again.frame.equals(first.frame.select(again.frame.columns))
    assert reader_key(family["stock"]) == reader_key(family["products"]) != reader_key(other)
    assert own.frame.equals(read_file(local, other, tmp_path).frame)


def test_a_kept_parse_holds_only_what_the_feeds_still_to_read_it_need(
    tmp_path: Path, home: Path
) -> None:
    settings = _family(home, tmp_path, "utf8", FEEDS)
    local = tmp_path / "flat.csv"
    write(local, [row(n) for n in range(10)], DIALECTS["utf8"])
    family = load_contracts(settings)
    shared = SharedParse()
    shared.expect([family[f] for f in FEEDS])

    whole = shared.read(local, family["products"], tmp_path)
    prices = shared.read(local, family["prices"], tmp_path)
    stock = shared.read(local, family["stock"], tmp_path)
    again = shared.read(local, family["stock"], tmp_path)  # one more than said: read again

    assert whole.frame.columns == [*whole.columns, "_line"]
    # Each feed gets back only its own columns of the kept parse, in the file's order.
    assert prices.frame.columns == ["sku", "pricelist", "currency", "price", "_line"]
    assert prices.frame.equals(whole.frame.select(prices.frame.columns))
    stock_columns = ["sku", "warehouse", "location", "onhand"]
    assert stock.frame.columns == [*stock_columns, "_line"]
    assert stock.frame.equals(whole.frame.select(stock.frame.columns))
    assert shared.reads == 2 and again.frame.equals(whole.frame)
    assert not list(tmp_path.glob(".*.parsed.arrow"))  # the last feed to read it removed it


def test_three_feeds_of_a_file_named_with_brackets_commit(home: Path, tmp_path: Path) -> None:
    # The kept parse is spilled under a name made of the ERP file's: polars' read_ipc took
    # `flat_[1].csv`'s `[1]` as a pattern ("expanded paths were empty") for the later feeds.
    settings = _family(home, tmp_path, "utf8", FEEDS)
    _drop(settings, "flat_[1].csv", [row(n) for n in range(40)], "utf8")

    outcomes = run_once(settings, "products")

    assert [(o.feed, o.outcome) for o in outcomes] == [(f, "committed") for f in FEEDS]

"""Hostile XML shapes are refused with bounded memory: a real `run.py` under an address-space limit.

As in test_bounded_memory: each file is made at test time, the child runs under 2 GiB of
address space, and its peak RSS must stay under 1000 MiB. Before these bounds every case
but the entity bomb (refused since the start) died of MemoryError or ran out of that limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import hostile_files as make
from tests.support.bounded_runs import PEAK_RSS, run_limited
from tests.support.homes import home_with_feeds

MIB = make.MIB
_CONTRACT = """[feed]
name = "{name}"
entity = "product"
[source]
store = "erp"
folder = "{name}"
pattern = "*"
ready = "temp_name"
[format]
type = "{type}"
{format}
[columns]
{columns}
[defaults]
manufacturer_code = "ACME"
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with an XML feed `items` (Items/Item: @sku, Name), then a CSV feed `later`."""
    xml_columns = '"@sku" = "part_no"\n"Name" = "name"'
    csv_columns = '"sku" = "part_no"\n"name" = "name"'
    return home_with_feeds(
        tmp_path,
        {
            "items": _CONTRACT.format(
                name="items", type="xml", format='record = "Items/Item"', columns=xml_columns
            ),
            "later": _CONTRACT.format(name="later", type="csv", format="", columns=csv_columns),
        },
    )


CASES: dict[str, tuple[str, object, str]] = {
    # name: (file name, how to make it, what the refusal says)
    "xml text node of 300 MB": (
        "text.xml",
        lambda p: make.xml_long_text(p, 300 * MIB),
        "the text of Items/Item/Name is longer than 262,144 bytes (format.max_cell_bytes): "
        "refused as a broken export (column 22), line 3",
    ),
    "xml.gz expanding to 2 GiB": (
        "text.xml.gz",
        lambda p: make.xml_gz_long_text(p, 2048 * MIB),
        "the text of Items/Item/Name is longer than 262,144 bytes (format.max_cell_bytes): "
        "refused as a broken export (column 22), line 3",
    ),
    "xml of three million records": (
        "records.xml",
        lambda p: make.xml_many_records(p, 3_000_000),
        "more than 2,000,000 rows (format.max_rows): refused as a broken export (column 1), "
        "line 2000003",
    ),
    "xml with 24 attribute values of 9 MB": (
        "attributes.xml",
        lambda p: make.xml_long_attributes(p, 24, 9 * MIB),
        "a tag or comment longer than 262,144 bytes (format.max_cell_bytes): "
        "refused as a broken export (column 1), line 3",
    ),
    "xml of six million distinct element names": (
        "names.xml",
        lambda p: make.xml_distinct_names(p, 6_000_000),
        "distinct element and attribute names (format.max_columns): refused as a broken export",
    ),
    "xml nested twenty million deep": (
        "deep.xml",
        lambda p: make.xml_deep(p, 20_000_000),
        "elements nested more than 256 deep: refused as a broken export",
    ),
    "xml entity bomb": (
        "bomb.xml",
        make.xml_entity_bomb,
        "DOCTYPE and entity declarations are not allowed, line 2",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.slow
def test_check_refuses_the_xml_in_bounded_memory(home: Path, tmp_path: Path, case: str) -> None:
    name, maker, says = CASES[case]
    assert callable(maker)
    hostile: Path = maker(tmp_path / name)

    run = run_limited(home, "check", str(hostile), "--feed", "items")

    assert run.code == 1, run.output[-2000:]
    refusal = next(t for t in run.output.splitlines() if t.startswith("File-level error:"))
    assert refusal.startswith(f"File-level error: {name}: ")
    assert says in refusal
    assert run.peak_rss < PEAK_RSS
    assert not list((home / "outbox" / "checks" / "items").glob(".*")), "scratch left behind"


@pytest.mark.slow
def test_once_rejects_each_hostile_xml_and_goes_on(home: Path) -> None:
    """One pass: the hostile files rejected, the good one applied, the next feed run."""
    items, later = home / "erp" / "items", home / "erp" / "later"
    make.xml_gz_long_text(items / "a_text.xml.gz", 2048 * MIB)
    make.xml_deep(items / "b_deep.xml", 20_000_000)
    make.xml_long_attributes(items / "c_attributes.xml", 24, 9 * MIB)
    (items / "d_good.xml").write_text(
        '<Items><Item sku="A1"><Name>first</Name></Item></Items>\n', encoding="utf-8"
    )
    (later / "good.csv").write_text("sku,name\nB1,second\n", encoding="utf-8")

    run = run_limited(home, "once")

    assert run.peak_rss < PEAK_RSS, run.output[-2000:]
    assert sorted(p.name for p in (items / "rejected").iterdir()) == [
        "a_text.xml.gz",
        "b_deep.xml",
        "c_attributes.xml",
    ]
    assert [p.name for p in (items / "processed").iterdir()] == ["d_good.xml"]
    assert [p.name for p in (later / "processed").iterdir()] == ["good.csv"]
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()], "scratch left behind"

"""Edges of the flat reading that generated documents seldom reach, read through both the flat
handlers and the general ones (a `position()` field beside the same fields takes those): a record
path nearly MAX_DEPTH steps long, where even a record's child is one element too deep, and a
record whose attribute and children are each read once, the first occurrence winning."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import read_xml
from etl.read.formats.xml_bounds import MAX_DEPTH

FIELDS = ["@sku", "W/@code", "Name", "Missing"]


Reading = pl.DataFrame | tuple[str, int | None]


def _both(path: Path, fmt: FormatSpec) -> tuple[Reading, Reading]:
    """The flat and the general reading of `path`: each a frame or the refusal and its line."""
    results: list[Reading] = []
    for fields in (FIELDS, [*FIELDS, "position()"]):
        try:
            frame = read_xml(path, fmt, fields).frame
        except ParseError as exc:
            results.append((str(exc), exc.line))
        else:
            results.append(frame.drop("position()", strict=False))
    return results[0], results[1]


@pytest.mark.parametrize("steps", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH])
def test_a_record_path_nearly_max_depth_long(tmp_path: Path, steps: int) -> None:
    outer = [f"E{n}" for n in range(steps - 1)]
    record = "/".join([*outer, "Item"])
    item = '<Item sku="1"><W code="M"/><Name>n</Name><Unread/></Item>'
    body = "".join(f"<{e}>" for e in outer) + item + "".join(f"</{e}>" for e in reversed(outer))
    path = tmp_path / "deep.xml"
    path.write_text(body, encoding="utf-8")

    flat, general = _both(path, FormatSpec(type="xml", record=record))

    if isinstance(flat, tuple):
        assert flat == general
        assert "nested more than 256 deep" in flat[0]
    else:
        assert isinstance(general, pl.DataFrame)
        assert_frame_equal(flat, general)
    # A path of MAX_DEPTH steps leaves no room below the record: its first child is refused.
    assert isinstance(flat, tuple) == (steps == MAX_DEPTH)


def test_first_occurrence_wins_and_lines_past_a_block(tmp_path: Path) -> None:
    records = "".join(
        f'<Item sku="{n}">\n<W code="a{n}"/><W code="b{n}"/><Name>x{n}</Name><Name>y{n}</Name>'
        f"<Name/></Item>\n"
        for n in range(50_000)
    )
    path = tmp_path / "items.xml"
    path.write_text(f"<Root>\n{records}<Item/><Item><Name/></Item></Root>\n", encoding="utf-8")

    flat, general = _both(path, FormatSpec(type="xml", record="Root/Item"))

    assert isinstance(flat, pl.DataFrame) and isinstance(general, pl.DataFrame)
    assert_frame_equal(flat, general)

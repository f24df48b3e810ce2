"""Two readings of one XML file compared: the flat (and plain) one and the general handlers'."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import read_xml


def same_reading(path: Path, fmt: FormatSpec, fields: list[str]) -> None:
    """`fields` read flat, and beside position() (the general handlers): the same rows or refusal."""
    general_fields = [*fields, "position()"]
    try:
        flat = read_xml(path, fmt, fields)
    except ParseError as exc:
        with pytest.raises(ParseError) as general:
            read_xml(path, fmt, general_fields)
        assert (type(general.value), str(general.value), general.value.line) == (
            type(exc),
            str(exc),
            exc.line,
        )
        return
    read = read_xml(path, fmt, general_fields)
    assert_frame_equal(flat.frame, read.frame.drop("position()"))
    assert flat.absent == tuple(f for f in read.absent if f != "position()")

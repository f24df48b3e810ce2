"""A file refused for a long text is read a second time to say where; the encoding warning of
its contract (etl.read.formats.xml `_contract_encoding`) is still logged once (R-PERF review)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import read_xml


def test_the_encoding_warning_is_logged_once_for_a_refused_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "stock.xml"
    text = "x" * 2000
    path.write_bytes(
        f'<?xml version="1.0" encoding="ISO-8859-1"?><Items><Item><Name>{text}</Name></Item>'
        "</Items>".encode("latin-1")
    )
    fmt = FormatSpec(type="xml", record="Items/Item", encoding="cp1252", max_cell_bytes=1024)
    with caplog.at_level(logging.WARNING), pytest.raises(ParseError, match="longer than"):
        read_xml(path, fmt, ["Name"])
    warnings = [r for r in caplog.records if "declares encoding" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]

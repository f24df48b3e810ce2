"""Readers: a file in, a frame of strings with source line numbers out."""

from __future__ import annotations

from pathlib import Path

from etl.contracts import FeedContract
from etl.formats.csv import read_csv
from etl.formats.xml import read_xml
from etl.models import ParsedFile


def read_file(path: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
    """Parse `path` with the contract's format and dialect."""
    fmt = contract.format
    if fmt.type == "xml":
        return read_xml(path, fmt, list(contract.columns))
    return read_csv(path, fmt, scratch)

"""Readers: a file in, a frame of strings with source line numbers out."""

from __future__ import annotations

from pathlib import Path

from etl.contracts import FeedContract
from etl.formats.compressed import opens_compressed
from etl.formats.csv import read_csv
from etl.formats.xlsx import read_xlsx
from etl.formats.xml import read_xml
from etl.models import ParsedFile


@opens_compressed  # a .gz or .zip is read as the one file inside it
def read_file(path: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
    """Parse `path` with the contract's format and dialect."""
    fmt = contract.format
    if fmt.type == "xml":
        return read_xml(path, fmt, list(contract.columns))
    if fmt.type == "xlsx":
        return read_xlsx(path, fmt)
    return read_csv(path, fmt, scratch)

"""Readers: a file in, a frame of strings with source line numbers out."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.errors import SchemaMismatch
from etl.models import LINE, ParsedFile, Part
from etl.read.formats.compressed import Member, expanded
from etl.read.formats.csv import read_csv
from etl.read.formats.xlsx import dated_columns, read_xlsx
from etl.read.formats.xml import read_xml


def read_file(path: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
    """Parse `path` with the contract's format and dialect; a `.gz` or `.zip` is opened.

    A zip of several data files is one export cut in pieces: each is read on its own (its
    own header, its own trailer), they must have the same columns, and their rows follow
    each other in the archive's order, numbered on (see `Part`).
    """
    with expanded(path, contract.format, scratch) as members:
        if len(members) == 1:
            return _read_one(members[0].path, contract, scratch)
        return _joined(path, [(m, _read_one(m.path, contract, scratch)) for m in members])


def _read_one(path: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
    fmt = contract.format
    if fmt.type == "xml":
        return read_xml(path, fmt, contract.read_columns())
    if fmt.type == "xlsx":
        return read_xlsx(path, fmt, dated_columns(contract))
    return read_csv(path, fmt, scratch)


def _joined(path: Path, read: list[tuple[Member, ParsedFile]]) -> ParsedFile:
    """The parts' rows as one file, each part's lines after the previous part's last."""
    first_member, first = read[0]
    frames, ragged, parts, offset = [], [], [], 0
    for member, parsed in read:
        _same_columns(path, first_member, first, member, parsed)
        frame = parsed.frame.select(*first.columns, LINE)
        frames.append(frame.with_columns(pl.col(LINE) + offset))
        ragged.append(parsed.ragged.with_columns(pl.col(LINE) + offset))
        parts.append(Part(member.name, offset))
        lines = pl.concat([frame[LINE], parsed.ragged[LINE]])
        last = lines.max() if lines.len() else None
        offset += max(last if isinstance(last, int) else 0, 1)
    absent = set(first.absent).intersection(*(p.absent for _, p in read))
    return ParsedFile(
        path,
        pl.concat(frames, how="vertical"),
        first.columns,
        tuple(c for c in first.absent if c in absent),
        tuple(parts),
        pl.concat(ragged, how="vertical"),
    )


def _same_columns(
    path: Path, first_member: Member, first: ParsedFile, member: Member, parsed: ParsedFile
) -> None:
    missing = [c for c in first.columns if c not in parsed.columns]
    extra = [c for c in parsed.columns if c not in first.columns]
    if missing or extra:
        what = "; ".join(
            [f"missing {missing}" if missing else "", f"not in the first {extra}" if extra else ""]
        ).strip("; ")
        raise SchemaMismatch(
            f"{path.name}: {member.name} does not have the columns of {first_member.name} "
            f"({what}); the files of one zip must be parts of the same export"
        )

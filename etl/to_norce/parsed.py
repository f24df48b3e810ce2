"""A downloaded file's parse, shared by every feed that reads it in one run.

Products, prices and stock may all read one export (`from_feed`): parsing it once per feed
tripled the largest cost of the run. The parse is the raw frame (every cell as text), which
depends only on how the file is read, never on which feed reads it; each feed then maps,
casts and validates only its own columns. Feeds whose contracts read the file differently
(another encoding, another set of XML paths) each get their own parse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.models import LINE, ParsedFile
from etl.read.formats import read_file
from etl.read.formats.xlsx import dated_columns

log = logging.getLogger(__name__)

ReaderKey = tuple[str, ...]


def reader_key(contract: FeedContract) -> ReaderKey:
    """What a parse of a file depends on: the dialect, and for XML and XLSX what is read."""
    fmt = contract.format
    key: ReaderKey = (fmt.model_dump_json(),)
    if fmt.type == "xml":
        return (*key, *contract.read_columns())
    if fmt.type == "xlsx":
        return (*key, repr(sorted(dated_columns(contract).items())))
    return key


@dataclass
class SharedParse:
    """The parses of one downloaded file, by reader; `reads` counts the files really parsed."""

    reads: int = 0
    # The feeds still to read the file in this run. Only the columns they read are kept,
    # and nothing once the last has read: a feed's diff and payloads need not run beside
    # cells no feed will look at again.
    waiting: list[FeedContract] = field(default_factory=list)
    # A kept parse waits on disk (Arrow IPC, a dot file in the parser's scratch folder,
    # tidied by Runtime.recover if a run dies) while the feed that parsed it diffs.
    _parsed: dict[ReaderKey, tuple[ParsedFile, Path]] = field(default_factory=dict)

    def expect(self, readers: Iterable[FeedContract]) -> None:
        """The feeds that will read the file in this run (none: no parse is kept)."""
        self.waiting = list(readers)

    def read(self, local: Path, contract: FeedContract, scratch: Path) -> ParsedFile:
        """The file as `contract` reads it: parsed on the first call, shared after that.

        A file refused while parsing is not kept: the next feed reads it again and is
        refused with its own contract's words.
        """
        key = reader_key(contract)
        self.waiting = _without(self.waiting, contract.name)
        readers = [c for c in self.waiting if reader_key(c) == key]
        parsed = self._taken(key, contract, last=not readers)
        if parsed is not None:
            log.info("%s: %s: parsed once already, shared", contract.name, local.name)
            return parsed
        started = time.perf_counter()
        parsed = read_file(local, contract, scratch)
        self.reads += 1
        log.info(
            "%s: %s: parsed in %.2f s (%d rows)",
            contract.name,
            local.name,
            time.perf_counter() - started,
            parsed.frame.height,
        )
        kept = _kept(parsed, readers)
        if kept is not None:
            # Spilled once for every feed still to read it: each reads back its own columns.
            spilled = scratch / f".{local.name}.{len(self._parsed)}.parsed.arrow"
            spilled.parent.mkdir(parents=True, exist_ok=True)
            kept.frame.write_ipc(spilled, compression="uncompressed")
            self._parsed[key] = (replace(kept, frame=kept.frame.clear()), spilled)
        return parsed

    def alone(self, contract: FeedContract) -> bool:
        """Whether `contract` is the only feed of the run to read the file as it reads it."""
        key = reader_key(contract)
        others = _without(self.waiting, contract.name)
        return key not in self._parsed and not any(reader_key(c) == key for c in others)

    def read_apart(self, contract: FeedContract) -> None:
        """`contract` read the file on its own (in batches, nothing kept): counted as a parse."""
        self.waiting = _without(self.waiting, contract.name)
        self.reads += 1

    def _taken(self, key: ReaderKey, contract: FeedContract, *, last: bool) -> ParsedFile | None:
        """The kept parse for `key` with the columns `contract` reads, back from disk, or None.

        The spill stays for the feeds still to read it; the `last` one's read removes it.
        """
        found = self._parsed.get(key)
        if found is None:
            return None
        parsed, spilled = found
        if last:
            del self._parsed[key]
        try:
            # scan with glob off: the spill is named after the ERP's file, `[` and all.
            # Only this feed's columns: the others' are read back by their own feeds.
            wanted = {LINE, *contract.read_columns()}
            columns = [c for c in parsed.frame.columns if c in wanted]
            frame = pl.scan_ipc(spilled, glob=False).select(columns).collect()
        finally:
            if last:
                spilled.unlink(missing_ok=True)
        return replace(parsed, frame=frame)


def _without(readers: list[FeedContract], name: str) -> list[FeedContract]:
    """`readers` without the first one called `name`."""
    at = next((i for i, c in enumerate(readers) if c.name == name), None)
    return readers if at is None else readers[:at] + readers[at + 1 :]


def _kept(parsed: ParsedFile, readers: list[FeedContract]) -> ParsedFile | None:
    """What the feeds still to read a parse need of it: their columns and the line numbers."""
    if not readers:
        return None
    needed = {LINE, *(column for r in readers for column in r.read_columns())}
    frame = parsed.frame.select(c for c in parsed.frame.columns if c in needed)
    return replace(parsed, frame=frame)

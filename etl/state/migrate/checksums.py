"""A table's rows summed up the same way on SQLite and on PostgreSQL: a count and a checksum.

Each row's values become one canonical JSON text (bytes as hex), hashed with SHA-256; the
checksum is the sum of those hashes modulo 2**256. A sum does not depend on the order the
rows come in (the two backends need not agree on one), and counts each row as often as
it is there, so a lost, doubled or changed row changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_MODULUS = 1 << 256
SHOWN_HEX = 16  # what the report prints of a checksum


@dataclass
class Tally:
    """Rows counted and summed so far."""

    rows: int = 0
    total: int = 0

    def add(self, values: Sequence[Any]) -> None:
        """Count one row in."""
        self.rows += 1
        self.total = (self.total + row_digest(values)) % _MODULUS

    def add_all(self, rows: Iterable[Sequence[Any]]) -> Tally:
        """Count every row in; the tally itself."""
        for row in rows:
            self.add(row)
        return self

    @property
    def checksum(self) -> str:
        """The checksum as the report shows it."""
        return f"{self.total:064x}"[:SHOWN_HEX]


def row_digest(values: Sequence[Any]) -> int:
    """One row's hash, as a number."""
    text = json.dumps([_plain(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def _plain(value: Any) -> Any:
    """A value JSON can hold, the same from either backend."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    return value

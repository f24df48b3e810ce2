"""What goes to Norce Connect and what comes back, independent of how it travels.

A `NorceCall` is exactly one request: the Connect method, the `X-StormConnect-Header`
object and the JSON array body. File delivery writes it to `outbox/`; HTTP delivery posts
it. Both answer with a `CallResult`, so the flows never know which one they talk to
(the `Delivery` seam, etl.norce.base).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from etl.entities.json_rows import JsonRows

JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class NorceCall:
    """One Connect import request: method path, header object, body items."""

    method: str  # e.g. "Product/ImportProducts", relative to .../commerce/connect/4.0/
    header: JsonObject
    items: Sequence[JsonObject]
    label: str  # stable name inside a run, e.g. "0001-ImportProducts-add"
    # The delta's rows this call carries, one per item (`run.py trace` names the request
    # that carried a key); not part of what is sent.
    rows: pl.DataFrame | None = field(default=None, compare=False, repr=False)

    def header_line(self) -> str:
        """The header as Norce wants it: one line of JSON, no spaces or line breaks."""
        return json.dumps(self.header, separators=(",", ":"), ensure_ascii=True)

    def body_bytes(self) -> bytes:
        """The body: a JSON array, nulls already dropped by the payload builders."""
        if isinstance(self.items, JsonRows):  # encoded by polars, one call at a time
            return self.items.body()
        return json.dumps(list(self.items), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class CallResult:
    """What happened to one call: where it went, its job id and the job's counts."""

    label: str
    method: str
    items: int
    bytes: int
    job_id: str | None = None  # None in file mode
    status: str = "written"  # "written" (file mode) or "succeeded"
    inserts: int | None = None
    updates: int | None = None
    failures: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    location: str | None = None  # outbox path (file mode) or URL (http mode)

"""Order bodies the receiver refused: listed for a person, and taken again once the cause is fixed.

The receiver keeps each refused body under `archive/orders/rejected/` as
`<YYYYMMDDTHHMMSSZ>-<hash prefix>.<json|xml>` with a `.reason.txt` beside it
(OrderInbound.keep_rejected). `retake` reads such a body with the current code; if it now
parses, it goes through `OrderInbound.accept`, the very path a pushed body takes (spool,
checks, book), and the copy and its reason move to `archive/orders/retaken/`, so it is never
taken twice. A body that still cannot be read stays where it is, with its reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from etl.state.atomic import fsync_dir_or_log
from etl.to_erp.orders.bodies import BodyRefused, parse_order
from etl.to_erp.orders.inbound import OrderInbound

_NAME = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{16}\.(json|xml)$")
REASON = ".reason.txt"


@dataclass(frozen=True)
class RefusedBody:
    """One refused body: its file, when it was refused and why."""

    path: Path
    refused_at: str  # ISO 8601 UTC, from the file's name
    reason: str

    @property
    def name(self) -> str:
        """The file name, which `run.py retake` takes."""
        return self.path.name


@dataclass(frozen=True)
class Retaken:
    """What `retake` made of one body: taken (with the order's ref) or still refused."""

    name: str
    taken: bool
    detail: str  # the ref and the receiver's answer, or why it is still refused


def refused_bodies(folder: Path) -> list[RefusedBody]:
    """Every refused body in `folder`, newest first."""
    if not folder.is_dir():
        return []
    found = [_refused(path, m[1]) for path in folder.iterdir() if (m := _NAME.match(path.name))]
    return sorted(found, key=lambda r: (r.refused_at, r.name), reverse=True)


def find(folder: Path, name: str) -> RefusedBody | None:
    """The refused body called `name`; None for anything else (a path, an unknown name)."""
    path = folder / name
    match = _NAME.match(name)
    if match is None or not path.is_file():
        return None
    return _refused(path, match[1])


def retake(inbound: OrderInbound, body: RefusedBody, aside: Path) -> Retaken:
    """Read the body again with the current code; taken in like a pushed body if it parses."""
    data = body.path.read_bytes()
    kind = body.path.suffix.lstrip(".")
    try:
        order = parse_order(data, kind)
    except BodyRefused as exc:
        return Retaken(body.name, False, exc.reason)
    answer = inbound.accept(data, kind, "retake")
    if answer.status != 200:
        return Retaken(body.name, False, str(answer.body.get("Description", "")))
    _move_aside(body.path, aside)
    return Retaken(body.name, True, f"order {order.client_order_ref}: {answer.body['Description']}")


def _refused(path: Path, stamp: str) -> RefusedBody:
    at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    try:
        reason = path.with_name(path.name + REASON).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        reason = "(no reason kept)"
    return RefusedBody(path, at.isoformat().replace("+00:00", "Z"), reason)


def _move_aside(path: Path, aside: Path) -> None:
    """The body first, then its reason: a body already booked is never left to be taken again."""
    aside.mkdir(parents=True, exist_ok=True)
    path.replace(aside / path.name)
    reason = path.with_name(path.name + REASON)
    if reason.exists():
        reason.replace(aside / reason.name)
    # The body is booked already: a move lost in a power cut shows it here again, and
    # taking it again is answered "already received".
    fsync_dir_or_log(aside, "a retaken body set aside")
    fsync_dir_or_log(path.parent, "a retaken body set aside")

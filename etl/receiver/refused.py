"""Order bodies the receiver refused: listed for a person, and taken again once the cause is fixed.

The receiver keeps each refused body under `archive/orders/rejected/` as
`<YYYYMMDDTHHMMSSZ>-<hash prefix>.<json|xml>` with a `.reason.txt` beside it, on this
machine's disk or, with `[storage] backend = "s3"`, in the bucket (etl.state.refused_base),
so any machine lists and retakes what any receiver refused. `retake` reads such a body with
the current code; if it now parses, it goes through `OrderInbound.accept`, the very path a
pushed body takes (spool, checks, book), and the copy and its reason move to
`archive/orders/retaken/`, so it is never taken twice. A body that still cannot be read
stays where it is, with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.state.refused_base import RefusedBodies, is_refused_name, refused_at
from etl.to_erp.orders.bodies import BodyRefused, parse_order
from etl.to_erp.orders.inbound import OrderInbound

NO_REASON = "(no reason kept)"


@dataclass(frozen=True)
class RefusedBody:
    """One refused body: its name (what `run.py retake` takes), when it was refused and why."""

    name: str
    refused_at: str  # ISO 8601 UTC, from the name
    reason: str


@dataclass(frozen=True)
class Retaken:
    """What `retake` made of one body: taken (with the order's ref) or still refused."""

    name: str
    taken: bool
    detail: str  # the ref and the receiver's answer, or why it is still refused


def refused_bodies(kept: RefusedBodies) -> list[RefusedBody]:
    """Every refused body kept, newest first."""
    found = [_refused(kept, name) for name in kept.names()]
    return sorted(found, key=lambda r: (r.refused_at, r.name), reverse=True)


def find(kept: RefusedBodies, name: str) -> RefusedBody | None:
    """The refused body called `name`; None for anything else (a path, an unknown name)."""
    if not is_refused_name(name) or name not in kept.names():
        return None
    return _refused(kept, name)


def retake(inbound: OrderInbound, kept: RefusedBodies, body: RefusedBody) -> Retaken:
    """Read the body again with the current code; taken in like a pushed body if it parses."""
    try:
        data = kept.read(body.name)
    except FileNotFoundError:
        return Retaken(body.name, False, "taken by another machine meanwhile")
    kind = body.name.rsplit(".", 1)[-1]
    try:
        order = parse_order(data, kind)
    except BodyRefused as exc:
        return Retaken(body.name, False, exc.reason)
    answer = inbound.accept(data, kind, "retake")
    if answer.status != 200:
        return Retaken(body.name, False, str(answer.body.get("Description", "")))
    kept.set_aside(body.name)
    return Retaken(body.name, True, f"order {order.client_order_ref}: {answer.body['Description']}")


def _refused(kept: RefusedBodies, name: str) -> RefusedBody:
    at = refused_at(name).isoformat().replace("+00:00", "Z")
    reason = kept.reason(name)
    return RefusedBody(name, at, NO_REASON if reason is None else reason)

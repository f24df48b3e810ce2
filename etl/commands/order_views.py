"""What an operator reads about orders: one order whole, and the bodies the receiver refused.

Every reference, file name and reason is printed through `printable`/`one_line`: they come
from Norce (or from a hostile sender) and an escape sequence in them must never reach the
terminal as itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from etl.commands.status import table
from etl.receiver.refused import RefusedBody
from etl.to_erp.orders.history import OrderStory
from etl.transport.names import one_line, printable

HOW = {
    "push": "pushed by Norce",
    "poll": "read from Norce Query",
    "recovered": "found in the spool when the receiver started",
    "retake": "taken again from archive/orders/rejected/",
}


# What the body due in the order's current generation is to it, by the order's state.
_IN_USE = {
    "spooled": "due with the next export",
    "exported": "the one exported last",
    "held": "goes when released",
}


def render_story(story: OrderStory) -> str:
    """`run.py orders show REF`: how it came, its bodies, holds, exports and documents."""
    order, ref = story.order, printable(story.order.ref)
    resend = f" (resend {order.generation - 1})" if order.generation > 1 else ""
    lines = [
        f"Order {ref}: {order.state}{resend}"
        + (f": {one_line(order.reason)}" if order.reason else ""),
        f"came: {HOW.get(order.source, order.source)}, received {order.received_at}",
        "",
        f"Bodies received under {ref} (`run.py resend {ref} --variant N` sends body N once):",
        _bodies(story),
        "",
        "Holds:",
        _holds(story),
        "",
        "Exports:",
        _exports(story),
        "",
        "Documents for it (from the document book):",
        _documents(story),
    ]
    return "\n".join(lines)


def _bodies(story: OrderStory) -> str:
    due = story.order.sha256
    rows = [("#", "received", "sha256", "file", "")]
    for body in story.bodies:
        notes = ["the order's own" if body.number == 1 else "kept for review"]
        if body.sha256 == due:
            notes.append(_IN_USE.get(story.order.state, "in use"))
        rows.append(
            (
                str(body.number),
                body.received_at,
                body.sha256[:16],
                printable(body.spool_name),
                "; ".join(notes),
            )
        )
    return _indented(rows)


def _holds(story: OrderStory) -> str:
    if not story.holds:
        return (
            "  never held"
            if story.order.state != "held"
            else f"  held: {one_line(story.order.reason or '')}"
        )
    rows = [("held at", "released", "by", "why")]
    rows += [
        (h.held_at, h.released_at or "still held", h.released_by or "", one_line(h.reason))
        for h in story.holds
    ]
    return _indented(rows)


def _exports(story: OrderStory) -> str:
    if not story.exports:
        return "  not exported yet"
    rows = [("begun", "finished", "layout", "file", "resend", "state")]
    rows += [
        (
            e.created_at,
            e.finished_at or "",
            printable(e.layout),
            printable(e.file_name),
            str(e.generation - 1) if e.generation > 1 else "",
            e.state,
        )
        for e in story.exports
    ]
    return _indented(rows)


def _documents(story: OrderStory) -> str:
    if not story.documents:
        return "  none"
    rows = [("kind", "number", "state", "updated", "message")]
    rows += [
        (d.kind, printable(d.number), d.state, d.updated_at, one_line(d.message or "")[:200])
        for d in story.documents
    ]
    return _indented(rows)


def render_refused(bodies: Sequence[RefusedBody], limit: int) -> str:
    """Refused bodies, newest first, with why; says when the list is cut."""
    if not bodies:
        return "no refused order bodies"
    rows = [("refused at", "file", "why")]
    rows += [(b.refused_at, printable(b.name), one_line(b.reason)[:300]) for b in bodies[:limit]]
    text = table(rows)
    if len(bodies) > limit:
        text += f"\nshowing {limit:,} of {len(bodies):,}; use --limit"
    return text


def _indented(rows: Sequence[Sequence[str]]) -> str:
    return "\n".join(f"  {line}" for line in table(rows).splitlines())

"""What `run.py trace` prints: lines for people, or one JSON document (`--json`).

Every value comes from a file or from Norce and passes `printable`/`one_line`: an escape
sequence in a key or a message must never reach the terminal as itself. JSON needs no such
care (json.dumps escapes control characters).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from etl.console.trace import Change, FeedTrail, Request, Step
from etl.console.trace_orders import SubjectTrail
from etl.transport.names import one_line, printable

_ZEROS = re.compile(r"^(-?\d+)\.(\d*?)0+$")
_VERBS = {
    "add": "added",
    "change": "changed",
    "reactivate": "reactivated",
    "remove": "removal sent",
    "held": "removal held",
    "spared": "spared (not removed)",
    "rejected": "rejected",
}


def as_document(
    key: str, feeds: Sequence[FeedTrail], subjects: Sequence[SubjectTrail]
) -> dict[str, Any]:
    """The whole answer as one JSON document (printed by etl.commands.json_views.dump)."""
    return {
        "key": key,
        "feeds": [dataclasses.asdict(f) for f in feeds],
        "subjects": [dataclasses.asdict(s) for s in subjects],
    }


def render_text(key: str, feeds: Sequence[FeedTrail], subjects: Sequence[SubjectTrail]) -> str:
    """Per feed, then per order or document: a heading, the reach of the archive, the steps."""
    parts = [_feed(f) for f in feeds if f.steps] + [_subject(s) for s in subjects]
    if not parts:
        looked = ", ".join(f.feed for f in feeds) or "no feed"
        gone = [f for f in feeds if f.runs_purged or f.runs_missing]
        reach = "; ".join(f"{f.feed}: {_reach(f)}" for f in gone)
        return f"nothing found for {printable(key)} (looked in {looked})" + (
            f"; {reach}" if reach else ""
        )
    return "\n\n".join(parts)


def _feed(trail: FeedTrail) -> str:
    title = f"{trail.feed} (key {' / '.join(trail.key_fields)}), newest first; {_reach(trail)}"
    return "\n".join([title, *(_step(s) for s in trail.steps)])


def _reach(trail: FeedTrail) -> str:
    """How far back the answer goes: retention and the runs past it."""
    kept = (
        f"run folders kept {trail.retention_days} days"
        if trail.retention_days
        else "run folders kept forever"
    )
    purged = f", {trail.runs_purged} older run(s) purged" if trail.runs_purged else ""
    if trail.runs_missing:
        purged += f", {trail.runs_missing} run folder(s) missing or unreadable"
    oldest = f", oldest kept run {trail.oldest_kept}" if trail.oldest_kept else ""
    return f"{trail.runs_read} run(s) read{oldest} ({kept}{purged})"


def _step(step: Step) -> str:
    file = step.file or ("(no file: an approval)" if step.approves else "(no file)")
    where = printable(file) + (f" line {step.line}" if step.line else "")
    head = f"  {step.at or '?'}  run {step.run_id}  {where}  {printable(step.key)}: "
    lines = [head + _what(step)]
    lines += [f"      {printable(c.field)}: {_change(c)}" for c in step.changes]
    if step.requests:
        lines.append("      carried by " + _requests(step.requests))
    return "\n".join(lines)


def _what(step: Step) -> str:
    verb = _VERBS.get(step.action, step.action)
    if step.action == "rejected":
        return f"{verb} {step.code or '?'}: {one_line(step.message or '')}"
    said = [verb]
    if step.approves:
        said.append(f"(approval of run {step.approves})")
    if step.replay_of:
        said.append(f"(replay of run {step.replay_of})")
    if step.reason:
        said.append(f"- {one_line(step.reason)}")
    approved = f"; approved, sent by run {step.approved_by}" if step.approved_by else ""
    return " ".join(said) + approved


def _requests(requests: Sequence[Request]) -> str:
    shown = [
        f"{printable(r.label)} ({'job ' + printable(r.job_id) if r.job_id else 'file'}"
        f"{', ' + r.status if r.status else ''})"
        for r in requests
    ]
    return ("one of " if len(shown) > 1 else "") + ", ".join(shown)


def _change(change: Change) -> str:
    if not change.kept:
        return "changed (this run's trail was written before it kept values)"
    return f"{_value(change.old)} -> {_value(change.new)}"


def _value(value: str | None) -> str:
    """A value as people read it: `10.0000` as `10`, empty as (empty)."""
    if value is None:
        return "(empty)"
    match = _ZEROS.match(value)
    if match:
        value = match[1] + (f".{match[2]}" if match[2] else "")
    return printable(value)


def _subject(trail: SubjectTrail) -> str:
    state = f": {trail.state}" if trail.state else ""
    lines = [f"{trail.kind} {printable(trail.ref)}{state}, newest first"]
    for event in trail.events:
        run = f"  run {event.run_id}" if event.run_id else ""
        file = f"  {printable(event.file)}" if event.file else ""
        lines.append(f"  {event.at or '?'}  {event.what}{run}{file}: {one_line(event.detail)}")
    return "\n".join(lines)

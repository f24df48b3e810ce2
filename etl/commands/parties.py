"""The party commands of `run.py`: parties (what came and where it went), export-parties."""

from __future__ import annotations

import argparse

from etl.commands.json_views import dump, event_json
from etl.config.settings import Settings
from etl.jobs import party_jobs, run_jobs
from etl.runtime import Runtime, ledger_at
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.parties.book import EventRow, PartyBook


def add_party_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the party commands on the CLI's subparsers."""
    parties = sub.add_parser(
        "parties", help="customer and company changes Norce reported, and where each went"
    )
    parties.add_argument("--limit", type=int, default=50, help="latest events (default 50)")
    parties.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parties.set_defaults(handler=parties_command)
    export = sub.add_parser(
        "export-parties",
        help="fetch the changed customers and companies from Norce and export them once",
    )
    export.add_argument(
        "--retry-held",
        action="store_true",
        help="first make held changes due again (after the layout's policy was changed)",
    )
    export.add_argument(
        "--retry-forgotten",
        action="store_true",
        help="first make changes booked forgotten due again (after [forgotten] was corrected)",
    )
    export.set_defaults(handler=export_parties_command)


def parties_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py parties`: one line per event, newest first."""
    layouts: dict[str, list[str]] = {}
    for layout in load_layouts(settings, "parties").values():
        layouts.setdefault(layout.subject.name, []).append(layout.name)
    book = PartyBook(ledger_at(settings))
    try:
        events = book.events(args.limit)
    finally:
        book.close()
    if args.json:
        listed = [event_json(e, layouts.get(e.kind, [])) for e in events]
        print(dump({"events": listed}))
    else:
        print(render_events(events, layouts))
    return 0


def export_parties_command(args: argparse.Namespace, settings: Settings, contracts: object) -> int:
    """`run.py export-parties`: every party layout once; 1 when one failed or is stuck."""
    if args.retry_held or args.retry_forgotten:
        book = PartyBook(ledger_at(settings))
        try:
            if args.retry_held:
                print(f"{book.release_held()} held change(s) are due again")
            if args.retry_forgotten:
                print(f"{book.release_forgotten()} change(s) booked forgotten are due again")
        finally:
            book.close()
    rt = Runtime.open(settings)
    try:
        report = run_jobs(rt, party_jobs(rt), emit=print)
        failed = "failed" in report.outcomes
    finally:
        rt.close()
    return 1 if failed else 0


def render_events(events: list[EventRow], layouts: dict[str, list[str]]) -> str:
    """The events as a table: seq, when, type, party, what each layout made of it.

    `layouts` lists the layout names per kind, so a layout that has not taken an event
    yet shows it as pending.
    """
    if not events:
        return "No customer or company events received."
    lines = [f"{'event':>7}  {'received':<24}  {'type':<28}  {'norce id':>9}  where it went"]
    for e in events:
        outcomes = {layout: (what, note) for layout, what, note in e.outcomes}
        for layout in layouts.get(e.kind, []):
            outcomes.setdefault(layout, ("pending", None))
        went = (
            "; ".join(
                f"{layout}: {what}" + (f" ({note})" if note else "")
                for layout, (what, note) in sorted(outcomes.items())
            )
            or "no layout takes it"
        )
        lines.append(f"{e.seq:>7}  {e.received_at:<24}  {e.event:<28}  {e.norce_id:>9}  {went}")
    return "\n".join(lines)

"""The party job `run.py once`, `run.py export-parties` and the scheduler run: per party layout,
fetch the changed customers or companies from Norce Commerce Query and export them.

Like the order jobs, each run opens its own book (SQLite connections are per thread) and
takes the runtime's store, clock and sleep. The Query client is opened only when a party
is due, so an installation without Norce settings and without events runs clean.
"""

from __future__ import annotations

from etl.config.settings import Settings
from etl.norce.query import QueryClient
from etl.runtime import Runtime
from etl.to_erp.files.layouts import Layout, load_layouts
from etl.to_erp.parties.book import PartyBook
from etl.to_erp.parties.supply import PartySummary, export_parties


def party_layouts(settings: Settings) -> dict[str, Layout]:
    """The layouts in `<schemas_dir>/parties/`, by name."""
    return load_layouts(settings, "parties")


def export_parties_once(rt: Runtime, layout: Layout) -> PartySummary:
    """Export the changed parties of one layout's subject to its target."""
    settings = rt.settings
    book = PartyBook(rt.ledger.at)
    clients: list[QueryClient] = []

    def finder() -> QueryClient:
        client = QueryClient(
            settings.norce, settings.orders.query_path, sleep=rt.sleep, shared=rt.shared_tokens()
        )
        clients.append(client)
        return client

    try:
        return export_parties(
            settings,
            book,
            finder,
            rt.store(layout.target.store),
            layout,
            rt.clock,
            pause_after_upload_seconds=settings.pause_before_commit_seconds,
            sleep=rt.sleep,
        )
    finally:
        for client in clients:
            client.close()
        book.close()


def forgotten_note(forgotten: dict[str, str]) -> str:
    """The parties Norce forgot, by Norce Id: a marker went, or nothing (never their values)."""
    if not forgotten:
        return ""
    shown = ", ".join(f"{ref} ({how})" for ref, how in sorted(forgotten.items()))
    return f"; forgotten in Norce, no personal value sent: {shown}"

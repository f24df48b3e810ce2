"""Changed customers and companies as the shared export (etl.to_erp.files.export) ships them.

For one party layout: the parties with events the layout has not settled, oldest first;
each read from Norce Commerce Query by its Norce Id (one fetch however many events it had,
its `Addresses` expanded, their CountryId read through Core/Countries once a run) and
prepared as the layout's row; the file goes out by the same path as order files (temp
name, size check, rename, done-marker, `sent/`, settled by lookup after a crash, archive).

What a party's fetch can find:
- the record: its row goes in the file, whatever its Code. A customer born on the web has no
  Code (ERP number) until the ERP writes one back; it still goes out, with an empty Code and
  its Norce Id, because the ERP must learn about it to number it;
- nothing: the record is gone from Norce (deleted, or not visible to this application). Its
  events are closed as `gone`, reported in the summary and the log, not retried forever;
- a record the layout's encoding cannot hold (policy `hold` or `transliterate`): its events
  are `held` with the reason; `run.py export-parties --retry-held` after changing the policy;
- a customer Norce anonymized (etl.to_erp.parties.forgotten): never its scrambled values. By the
  layout's `[forgotten] action`, a marker row (Code, Norce Id, the IsForgotten column) or
  nothing; its events are `forgotten` either way, and the summary names it.

Norce Query unreachable (429, 5xx, timeouts, after the client's retries) stops the run
before anything is recorded: the events stay due and the next run fetches them again.
Logs name Norce Ids and counts, never a value of the record (names, e-mail, addresses).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from pydantic import ValidationError

from etl.config.settings import Settings
from etl.norce.query import CODE_NAMES, COMPANIES, COUNTRIES, CUSTOMERS
from etl.state.areas import FileArea
from etl.state.ledger.exported_files import ExportRow
from etl.to_erp.files import naming
from etl.to_erp.files.export import ExportSummary, Taken, export_layout, stamp
from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.prepared import Prepared
from etl.to_erp.files.render import prepare
from etl.to_erp.orders.book import OrderRow
from etl.to_erp.parties.book import Change, PartyBook
from etl.to_erp.parties.forgotten import forgotten_by, marker
from etl.to_erp.parties.model import as_read
from etl.transport.base import Store

log = logging.getLogger(__name__)

ENTITY_SETS = {"customer": CUSTOMERS, "company": COMPANIES}
# [I] navigation properties: addresses apart [C], a customer's companies
EXPANDS = {"customer": "Addresses,Companies", "company": "Addresses"}


@dataclass
class PartySummary(ExportSummary):
    """The export's summary, and the parties Norce forgot: Norce Id -> marker | skipped."""

    forgotten: dict[str, str] = field(default_factory=dict)


class PartyFinder(Protocol):
    """The part of the Query client this needs (etl.norce.query.QueryClient)."""

    def find_parties(
        self, entity_set: str, name: str, value: str | int, *, expand: str | None = None
    ) -> list[dict[str, Any]]:
        """The records whose `name` equals `value`."""

    def codes(self, entity_set: str) -> dict[int, str]:
        """Id -> Code of a lookup set such as Core/Countries."""


def export_parties(
    settings: Settings,
    book: PartyBook,
    finder: Callable[[], PartyFinder],
    store: Store,
    layout: Layout,
    clock: Callable[[], dt.datetime],
    *,
    pause_after_upload_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PartySummary:
    """Settle unfinished exports of a party layout, then export its changed parties.

    `finder` is called once, when the first party must be fetched: a run with nothing due
    needs no Norce settings at all.
    """
    supply = PartySupply(book, finder, layout, clock)
    summary = export_layout(
        settings,
        supply,
        store,
        layout,
        clock,
        pause_after_upload_seconds=pause_after_upload_seconds,
        sleep=sleep,
    )
    done = {f.name: getattr(summary, f.name) for f in fields(summary)}
    return PartySummary(**done, forgotten=supply.forgotten)


class PartySupply:
    """The changed parties of one layout's subject, fetched from Norce Query."""

    area: FileArea = "parties"

    def __init__(
        self,
        book: PartyBook,
        finder: Callable[[], PartyFinder],
        layout: Layout,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book, self.layout, self.clock = book, layout, clock
        self.kind = layout.subject.name
        self.noun = layout.subject.plural
        self.lock = f"party-layout.{layout.name}"
        self._finder = finder
        self._found: PartyFinder | None = None
        self._countries: dict[int, str] | None = None
        self._company_codes: dict[int, str | None] = {}
        self.forgotten: dict[str, str] = {}  # this run's: Norce Id -> marker | skipped

    def unfinished(self) -> list[ExportRow]:
        """Exports of the layout begun and not finished."""
        return self.book.unfinished_exports(self.layout.name)

    def due(self, limit: int) -> list[Change]:
        """Parties with changes the layout has not settled (claimed: see PartyBook)."""
        return self.book.due(self.kind, self.layout.name, limit, stamp(self.clock))

    def take(self, units: Sequence[Change]) -> Taken[Change]:
        """Each party fetched and prepared; the gone and the unfit are recorded as such."""
        taken: Taken[Change] = Taken()
        gone, held, skipped = [], [], []
        for change in units:
            record = self._fetch(change)
            if record is None:
                gone.append(change)
                continue
            if self._forgotten(change, record):
                if self.layout.contract.forgotten.action == "skip":
                    skipped.append(change)
                    continue
                record = as_read(marker(self.kind, record), {})
            else:
                record = {**record, "IsForgotten": False}  # a 0 in the column, not a blank
            prepared = self._prepare(change, record)
            if isinstance(prepared, str):
                held.append(change)
                taken.held[change.ref] = prepared
                continue
            taken.ready.append((change, prepared))
        at = stamp(self.clock)
        if gone:
            self.book.settle(self.layout.name, gone, "gone", {}, at)
            taken.gone.extend(c.ref for c in gone)
        if held:
            self.book.settle(self.layout.name, held, "held", taken.held, at)
        if skipped:
            why = (
                f'forgotten in Norce: nothing written (layout {self.layout.name}: action = "skip")'
            )
            reasons = {c.ref: why for c in skipped}
            self.book.settle(self.layout.name, skipped, "forgotten", reasons, at)
        return taken

    def name(self, units: Sequence[Change], taken: Callable[[str], bool]) -> str:
        """The layout's file name for these parties ({first}, {last}: Norce Ids)."""
        return naming.choose(self.layout.target.file_name, [_named(c) for c in units], taken)

    def name_used(self, name: str) -> bool:
        """Whether an export of the layout used this name."""
        return self.book.file_name_taken(self.layout.name, name)

    def finished_at(self, name: str) -> str | None:
        """When the export of the layout that used this name was committed."""
        return self.book.finished_at(self.layout.name, name)

    def begin(
        self, export_id: str, name: str, units: Sequence[Change], sha256: str, size: int, at: str
    ) -> None:
        """Record the export and every event it settles before the upload."""
        markers = {c.ref for c in units if self.forgotten.get(c.ref) == "marker"}
        self.book.begin_export(export_id, self.layout.name, name, units, sha256, size, at,
                               forgotten=markers)  # fmt: skip

    def finish(self, export_id: str, at: str) -> None:
        """The export reached the ERP."""
        self.book.finish_export(export_id, at)

    def again(self, export: ExportRow) -> bytes | str | None:
        """Not the same bytes: the export is dropped and its parties fetched afresh.

        The file is gone from the outbox and not on the server under its name, so the ERP
        does not have it; Norce's current record is what it should get now.
        """
        log.warning(
            "%s %s: %s never reached the ERP and its file is gone; its %d %s are fetched "
            "again and sent in a new file",
            self.noun,
            self.layout.name,
            export.file_name,
            len(export.refs),
            self.noun,
        )
        self.book.abandon_export(export.export_id)
        return None

    # -- one party -------------------------------------------------------------------------

    def _fetch(self, change: Change) -> dict[str, Any] | None:
        if self._found is None:
            self._found = self._finder()
        rows = self._found.find_parties(ENTITY_SETS[self.kind], "Id", change.norce_id,
                                        expand=EXPANDS[self.kind])  # fmt: skip
        record = next((r for r in rows if r.get("Id") == change.norce_id), None)
        if record is not None:
            return self._read(self._found, record)
        log.warning(
            "%s %s: Norce Query has no %s %d (deleted?); its %d event(s) are closed without a row",
            self.noun,
            self.layout.name,
            self.kind,
            change.norce_id,
            len(change.seqs),
        )
        return None

    def _forgotten(self, change: Change, record: dict[str, Any]) -> bool:
        """Whether Norce forgot the party; noted for the summary and the log (Ids only)."""
        spec = self.layout.contract.forgotten
        why = forgotten_by(self.kind, record, spec)
        if why is None:
            return False
        self.forgotten[change.ref] = "marker" if spec.action == "marker" else "skipped"
        log.info(
            "%s %s: %s %d was forgotten in Norce (%s): %s, none of its values",
            self.noun,
            self.layout.name,
            self.kind,
            change.norce_id,
            why,
            "a forgotten marker" if spec.action == "marker" else "nothing written",
        )
        return True

    def _read(self, query: PartyFinder, record: dict[str, Any]) -> dict[str, Any]:
        """The record with ISO country codes, and a company's parent by its CompanyCode."""
        if self._countries is None:
            self._countries = query.codes(COUNTRIES)
        read = as_read(record, self._countries)
        parent = record.get("ParentCompanyId")
        if self.kind == "company" and isinstance(parent, int):
            read["ParentCompanyCode"] = self._company_code(query, parent)
        if self.kind == "customer":
            # [I] Query's link to a customer's companies may carry the Id only: the ERP knows
            # its companies by their numbers, so each is looked up (once per run).
            read["Companies"] = [
                {**link, "Code": link.get("Code") or self._company_code(query, link.get("Id"))}
                for link in read.get("Companies") or []
            ]
        return read

    def _company_code(self, query: PartyFinder, company_id: object) -> str | None:
        """A company's CompanyCode by its Norce Id (None when it has none or is gone)."""
        if not isinstance(company_id, int):
            return None
        if company_id not in self._company_codes:
            found = query.find_parties(COMPANIES, "Id", company_id)
            self._company_codes[company_id] = found[0].get("CompanyCode") if found else None
        return self._company_codes[company_id]

    def _prepare(self, change: Change, record: dict[str, Any]) -> Prepared | str:
        """The party's rows, or why it cannot go (never quoting a value of the record)."""
        model = self.layout.subject.model
        try:
            party = model.model_validate(record)
        except ValidationError as exc:
            where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors())
            return self._held(
                change, f"Norce Query's record does not read as a {self.kind}: {where}"
            )
        prepared = prepare(self.layout, party, change.ref)
        if prepared.unfit:
            shown = "; ".join(prepared.unfit[:5]) + ("; ..." if len(prepared.unfit) > 5 else "")
            return self._held(
                change,
                f"layout {self.layout.name}: {shown}. To send it anyway, set unencodable = "
                f'"replace" under [format] in {self.layout.path}, then '
                "`run.py export-parties --retry-held`",
            )
        if prepared.changed:
            log.warning(
                "%s %s: %s %d: %d cell(s) written with characters replaced to fit %s",
                self.noun,
                self.layout.name,
                self.kind,
                change.norce_id,
                len(prepared.changed),
                self.layout.format.encoding,
            )
        if not record.get(CODE_NAMES[ENTITY_SETS[self.kind]]):
            log.info(
                "%s %s: %s %d has no Code yet (made in Norce); sent with an empty code and "
                "its Norce Id",
                self.noun,
                self.layout.name,
                self.kind,
                change.norce_id,
            )
        return prepared

    def _held(self, change: Change, reason: str) -> str:
        log.error("%s %s: %s %d held: %s", self.noun, self.layout.name, self.kind,
                  change.norce_id, reason)  # fmt: skip
        return reason


def _named(change: Change) -> OrderRow:
    """The party as etl.to_erp.files.naming reads a unit: its ref, first arrival and a generation.

    naming is typed against the order book's row but reads only these three; the generation
    (in `{batch}`) is the party's newest event, so a later change gets another batch name.
    """
    return OrderRow(
        ref=change.ref,
        sha256="",
        spool_name="",
        kind=change.kind,
        source="event",
        received_at=change.received_at,
        state="",
        reason=None,
        generation=change.seqs[-1],
    )

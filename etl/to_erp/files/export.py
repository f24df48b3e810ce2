"""The export job: due units -> files on the ERP's server, every unit exactly once per layout.

One path for every subject a layout renders (orders here; customers and companies changed in
Norce, etl.to_erp.parties.supply): what differs is a `Supply` (what is due, how a unit is read and
prepared, how the ledger records an export); the way a file travels is this module's alone.
One file, start to end:

    render -> outbox/erp/<layout>/<file> (fsync'd) -> supply.begin (the ledger) -> upload as
    <file>.part -> size check -> rename to <file> -> outbox/erp/<layout>/sent/<file>
    -> done-marker -> supply.finish -> archive/<area>/exported/<layout>/<day>/<file>

The outbox folders say how far a file got. A file in `outbox/erp/<layout>/` may or may not be
on the server; one in `sent/` is, under its final name. An export the ledger holds as begun
but not finished (the process died) is settled first on the next run: in `sent/`, or on the
server under its final name with the recorded size: finished, not uploaded again; only its
temp name there: that is removed and the same bytes are uploaded again; nothing there:
uploaded again. The one window this cannot see into is between the server's rename and the
move to `sent/` (microseconds), if the ERP also takes the file away within it.

A server that is read-only for us (the embedded default's `etl/embedded/samples/erp`) gets nothing: the
files are rendered into the outbox for a person to look at, and nothing counts as exported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import posixpath
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from etl.config.settings import Settings
from etl.errors import EtlError, TransportError
from etl.state.areas import Areas, FileArea
from etl.state.atomic import fsync_dir, write_atomically
from etl.state.ledger.exported_files import ExportRow
from etl.state.locks import feed_lock
from etl.state.spool import Spool
from etl.to_erp.files import naming
from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.prepared import Prepared
from etl.to_erp.files.render import prepare, render
from etl.to_erp.orders.bodies import BodyRefused, parse_order
from etl.to_erp.orders.book import OrderBook, OrderRow
from etl.transport.base import Store

log = logging.getLogger(__name__)

U = TypeVar("U")


@dataclass
class ExportSummary:
    """What one run of the job did for one layout."""

    layout: str
    files: list[str] = field(default_factory=list)  # new files that reached the ERP
    units: int = 0  # orders (or parties) in those files
    finished: list[str] = field(default_factory=list)  # earlier exports settled by lookup
    uploaded_again: list[str] = field(default_factory=list)  # earlier exports sent again
    stuck: list[str] = field(default_factory=list)  # earlier exports a person must look at
    held: dict[str, str] = field(default_factory=dict)  # unit ref -> why it was held
    gone: list[str] = field(default_factory=list)  # parties Norce no longer has: nothing to send
    outbox_only: bool = False  # read-only store: rendered, not uploaded, nothing recorded
    skipped: bool = False  # another process was exporting this layout
    error: str | None = None  # the run stopped here (server unreachable...): retried next run

    @property
    def orders(self) -> int:
        """Units in the new files, under the name the order job reports them by."""
        return self.units


@dataclass
class Taken(Generic[U]):
    """Due units read for one file: those ready to go, and those that cannot go now."""

    ready: list[tuple[U, Prepared]] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # ref -> why (recorded by the supply)
    gone: list[str] = field(default_factory=list)  # refs with nothing to send (recorded too)


class Supply(Protocol[U]):
    """What the shared export asks of one layout's subject: its units and its ledger."""

    @property
    def noun(self) -> str:
        """How logs count units: orders, customers, companies."""

    @property
    def area(self) -> FileArea:
        """archive/<area>/exported/<layout>/ holds the files: orders, parties."""

    @property
    def lock(self) -> str:
        """The lock one exporter of the layout holds: order-layout.<name>..."""

    def unfinished(self) -> list[ExportRow]:
        """Exports begun and not finished (the process died): settled first."""

    def due(self, limit: int) -> Sequence[U]:
        """Up to `limit` units due for the layout, oldest first."""

    def take(self, units: Sequence[U]) -> Taken[U]:
        """Read and prepare `units`; hold (and record) those that cannot go."""

    def name(self, units: Sequence[U], taken: Callable[[str], bool]) -> str:
        """The file name for these units that `taken` does not refuse."""

    def name_used(self, name: str) -> bool:
        """Whether an export of the layout already used this name."""

    def begin(
        self, export_id: str, name: str, units: Sequence[U], sha256: str, size: int, at: str
    ) -> None:
        """Before the upload: this file, with these units, is on its way."""

    def finish(self, export_id: str, at: str) -> None:
        """After the upload and its check: the file is the ERP's."""

    def again(self, export: ExportRow) -> bytes | str | None:
        """An unfinished export's lost file: its bytes rendered again, or why they cannot be
        (the export is stuck), or None: the supply dropped the export, its units are due again.
        """


def export_layout(
    settings: Settings,
    supply: Supply[U],
    store: Store,
    layout: Layout,
    clock: Callable[[], dt.datetime],
    *,
    pause_after_upload_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportSummary:
    """Settle unfinished exports of `layout`, then export what is due; one run, one layout.

    `pause_after_upload_seconds` is fault injection for kill tests: the job waits after
    the file is on the server under its final name, before the export is committed.
    """
    job = _Export(settings, supply, store, layout, clock, pause_after_upload_seconds, sleep)
    noun = supply.noun
    with feed_lock(Areas(settings.home).locks, supply.lock) as taken:
        if not taken:
            log.info("%s %s: already exporting elsewhere, skipped", noun, layout.name)
            job.summary.skipped = True
            return job.summary
        try:
            job.run()
        except EtlError as exc:
            log.error("%s %s: export stopped, retried next run: %s", noun, layout.name, exc)
            job.summary.error = str(exc)
    summary = job.summary
    log.info(
        "%s %s: %d files with %d %s%s; %d earlier exports finished, %d sent again, "
        "%d stuck; %d %s held%s",
        noun,
        layout.name,
        len(summary.files),
        summary.units,
        noun,
        " (outbox only)" if summary.outbox_only else "",
        len(summary.finished),
        len(summary.uploaded_again),
        len(summary.stuck),
        len(summary.held),
        noun,
        f"; {len(summary.gone)} no longer in Norce" if summary.gone else "",
    )
    return summary


class _Export(Generic[U]):
    """One run of the job over one layout."""

    def __init__(
        self,
        settings: Settings,
        supply: Supply[U],
        store: Store,
        layout: Layout,
        clock: Callable[[], dt.datetime],
        pause: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.supply, self.store, self.layout = supply, store, layout
        self.clock, self.pause, self.sleep = clock, pause, sleep
        self.noun = supply.noun
        areas = Areas(settings.home)
        self.outbox = areas.erp_outbox(layout.name)
        self.sent = self.outbox / "sent"
        self.archive = areas.exported(supply.area, layout.name)
        self.summary = ExportSummary(layout.name)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        """Settle what an earlier run left, then export due units file by file."""
        unfinished = self.supply.unfinished()
        self._tidy({e.file_name for e in unfinished})
        if self.store.read_only:
            self._outbox_only()
            return
        for export in unfinished:
            self._settle(export)
        while len(self.summary.files) < self.layout.spec.max_files_per_run:
            units = self.supply.due(self.layout.orders_per_file)
            if not units:
                break
            ready = self._take(units)
            if ready:
                self._export_new(ready)

    def _take(self, units: Sequence[U]) -> list[tuple[U, Prepared]]:
        taken = self.supply.take(units)
        self.summary.held.update(taken.held)
        self.summary.gone.extend(taken.gone)
        return taken.ready

    def _export_new(self, ready: Sequence[tuple[U, Prepared]]) -> None:
        units = [unit for unit, _ in ready]
        data = render(self.layout, [p for _, p in ready])
        name = self.supply.name(units, self._taken)
        local = self.outbox / name
        # On disk before the ledger knows it, so a retry can always send these same bytes.
        write_atomically(local, data)
        export_id = f"{self.layout.name}/{name}"
        sha = hashlib.sha256(data).hexdigest()
        self.supply.begin(export_id, name, units, sha, len(data), self._stamp())
        self._deliver(export_id, name, local, len(data), len(units))
        self.summary.files.append(name)
        self.summary.units += len(units)

    def _outbox_only(self) -> None:
        log.warning(
            "%s %s: store %r is read-only, so files are only written to %s; nothing is "
            "uploaded and nothing counts as exported (give the layout a writable store)",
            self.noun,
            self.layout.name,
            self.store.name,
            self.outbox,
        )
        self.summary.outbox_only = True
        per_file = self.layout.orders_per_file
        units = self.supply.due(per_file * self.layout.spec.max_files_per_run)
        for start in range(0, len(units), per_file):
            ready = self._take(units[start : start + per_file])
            if not ready:
                continue
            data = render(self.layout, [p for _, p in ready])
            name = self.supply.name([unit for unit, _ in ready], self._taken_locally)
            write_atomically(self.outbox / name, data)
            self.summary.files.append(name)

    # -- files out -------------------------------------------------------------------------

    def _deliver(self, export_id: str, name: str, local: Path, size: int, units: int) -> None:
        """Upload under the temp name, check the size, rename, then finish the export."""
        remote, temp = self._remote(name), self._remote(name) + self.layout.target.temp_suffix
        self.store.upload(local, temp)
        found = self._sizes().get(temp)
        if found != size:
            self.store.remove(temp)
            raise TransportError(
                f"{self.store.name}: {temp} is {found} bytes after the upload, not {size}; "
                "removed, the next run uploads it again"
            )
        self.store.rename(temp, remote)
        self._move(local, self.sent / name)
        self._finish(export_id, name, f"{units} {self.noun}, {size} bytes")

    def _finish(self, export_id: str, name: str, counts: str) -> None:
        """The file is on the server under its final name: marker, commit, archive."""
        self._write_marker(name)
        log.info(
            "%s %s: %s (%s) is on %s as %s; committing the export",
            self.noun,
            self.layout.name,
            name,
            counts,
            self.store.name,
            self._remote(name),
        )
        if self.pause > 0:
            self.sleep(self.pause)
        self.supply.finish(export_id, self._stamp())
        sent = self.sent / name
        if sent.exists():
            self._move(sent, self.archive / self.clock().strftime("%Y-%m-%d") / name)

    def _write_marker(self, name: str) -> None:
        template = self.layout.target.done_marker
        if template is None:
            return
        marker = naming.marker(template, name)
        path = self._remote(marker)
        if self.store.exists(path) or not self.store.exists(self._remote(name)):
            return  # written before the stop; or the ERP has taken the file (a lone marker lies)
        empty = self.outbox / f".{marker}"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_bytes(b"")
        try:
            self.store.upload(empty, path)
        finally:
            empty.unlink(missing_ok=True)

    # -- an export an earlier run left unfinished ------------------------------------------

    def _settle(self, export: ExportRow) -> None:
        name = export.file_name
        remote = self._remote(name)
        if (self.sent / name).exists():
            log.info("%s %s: %s reached the ERP before the stop", self.noun, self.layout.name, name)
            self._finish(export.export_id, name, self._counts(export))
            self.summary.finished.append(name)
            return
        sizes = self._sizes()
        if remote in sizes:
            self._settle_present(export, sizes[remote])
            return
        temp = remote + self.layout.target.temp_suffix
        if temp in sizes:
            self.store.remove(temp)
        local = self._same_bytes(export)
        if local is None:
            return
        log.info("%s %s: %s never arrived; uploading it again", self.noun, self.layout.name, name)
        self._deliver(export.export_id, name, local, export.size, len(export.refs))
        self.summary.uploaded_again.append(name)

    def _settle_present(self, export: ExportRow, size: int) -> None:
        name = export.file_name
        if size != export.size:
            self._stuck(
                name,
                f"{self._remote(name)} on {self.store.name} is {size} bytes, ours was "
                f"{export.size}: another file has taken the name. Move it away; the next run "
                "uploads ours",
            )
            return
        log.info("%s %s: %s found on the server; finishing", self.noun, self.layout.name, name)
        local = self.outbox / name
        if local.exists():
            self._move(local, self.sent / name)
        self._finish(export.export_id, name, self._counts(export))
        self.summary.finished.append(name)

    def _same_bytes(self, export: ExportRow) -> Path | None:
        """The exact bytes the export recorded: from the outbox, else rendered again."""
        local = self.outbox / export.file_name
        if local.exists() and _sha256(local.read_bytes()) == export.sha256:
            return local
        data = self.supply.again(export)
        if data is None:
            return None
        if isinstance(data, str):
            self._stuck(export.file_name, f"its file is gone from {self.outbox} and {data}")
            return None
        write_atomically(local, data)
        return local

    def _stuck(self, name: str, why: str) -> None:
        log.error("%s %s: export %s cannot be finished: %s", self.noun, self.layout.name, name, why)
        self.summary.stuck.append(name)

    # -- helpers -----------------------------------------------------------------------------

    def _tidy(self, unfinished: set[str]) -> None:
        """Archive files of finished exports; drop rendered files no export was begun for."""
        for folder in (self.outbox, self.sent):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.name.startswith(".") or path.name in unfinished:
                    continue
                if self.supply.name_used(path.name):
                    self._move(path, self.archive / self.clock().strftime("%Y-%m-%d") / path.name)
                else:
                    path.unlink()  # rendered again from the same units if they are still due

    def _taken(self, name: str) -> bool:
        """Used by an earlier export, or a file of that name (or its temp, marker) on the server."""
        if self.supply.name_used(name):
            return True
        target = self.layout.target
        names = [name, name + target.temp_suffix]
        if target.done_marker is not None:
            names.append(naming.marker(target.done_marker, name))
        return any(self.store.exists(self._remote(n)) for n in names)

    def _taken_locally(self, name: str) -> bool:
        """Outbox-only runs: used by an earlier export, or by a file of this run."""
        return self.supply.name_used(name) or name in self.summary.files

    def _sizes(self) -> dict[str, int]:
        """Size of every file in the target folder, by store path."""
        return {f.path: f.size for f in self.store.list(self.layout.target.folder)}

    def _remote(self, name: str) -> str:
        return posixpath.normpath(posixpath.join(self.layout.target.folder, name))

    def _move(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
        fsync_dir(target.parent)
        fsync_dir(source.parent)

    def _counts(self, export: ExportRow) -> str:
        return f"{len(export.refs)} {self.noun}, {export.size} bytes"

    def _stamp(self) -> str:
        return stamp(self.clock)


def stamp(clock: Callable[[], dt.datetime]) -> str:
    """Now, ISO 8601 UTC to the millisecond: how the ledgers write times."""
    return clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- orders ------------------------------------------------------------------------------------


def export_orders(
    settings: Settings,
    book: OrderBook,
    spool: Spool,
    store: Store,
    layout: Layout,
    clock: Callable[[], dt.datetime],
    *,
    pause_after_upload_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportSummary:
    """Settle unfinished exports of an order layout, then export its due orders."""
    return export_layout(
        settings,
        OrderSupply(book, spool, layout, clock),
        store,
        layout,
        clock,
        pause_after_upload_seconds=pause_after_upload_seconds,
        sleep=sleep,
    )


class OrderSupply:
    """Spooled orders for one layout, from the order book; an order that cannot go is held."""

    noun = "orders"
    area: FileArea = "orders"

    def __init__(
        self, book: OrderBook, spool: Spool, layout: Layout, clock: Callable[[], dt.datetime]
    ) -> None:
        self.book, self.spool, self.layout, self.clock = book, spool, layout, clock
        self.lock = f"order-layout.{layout.name}"

    def unfinished(self) -> list[ExportRow]:
        """Exports of the layout begun and not finished."""
        return self.book.unfinished_exports(self.layout.name)

    def due(self, limit: int) -> list[OrderRow]:
        """Spooled orders not yet exported to the layout."""
        return self.book.due(self.layout.name, limit)

    def take(self, units: Sequence[OrderRow]) -> Taken[OrderRow]:
        """Each order read from the spool and prepared; those that cannot go are held."""
        taken: Taken[OrderRow] = Taken()
        for row in units:
            prepared = self._load(row)
            if isinstance(prepared, str):
                self._hold(taken, row.ref, prepared)
                continue
            if prepared.wrong:
                self._hold(taken, row.ref, self._wrong_reason(prepared))
                continue
            if prepared.unfit:
                self._hold(taken, row.ref, self._unfit_reason(prepared))
                continue
            for change in prepared.changed:
                log.warning("orders %s: order %s: %s", self.layout.name, row.ref, change)
            taken.ready.append((row, prepared))
        return taken

    def name(self, units: Sequence[OrderRow], taken: Callable[[str], bool]) -> str:
        """The layout's file name for these orders."""
        return naming.choose(self.layout.target.file_name, units, taken)

    def name_used(self, name: str) -> bool:
        """Whether an export of the layout used this name."""
        return self.book.file_name_taken(self.layout.name, name)

    def begin(
        self,
        export_id: str,
        name: str,
        units: Sequence[OrderRow],
        sha256: str,
        size: int,
        at: str,
    ) -> None:
        """Record the export and its orders before the upload."""
        self.book.begin_export(export_id, self.layout.name, name, units, sha256, size, at)

    def finish(self, export_id: str, at: str) -> None:
        """The export reached the ERP: its orders are exported."""
        self.book.finish_export(export_id, at)

    def again(self, export: ExportRow) -> bytes | str:
        """The export's orders, read from the spool and rendered as the layout does now."""
        rows = [row for ref in export.refs if (row := self.book.order(ref)) is not None]
        rows.sort(key=lambda r: (r.received_at, r.ref))
        loaded = [self._load(row) for row in rows]
        prepared = [p for p in loaded if isinstance(p, Prepared) and not (p.unfit or p.wrong)]
        data = render(self.layout, prepared) if len(prepared) == len(export.refs) else b""
        if _sha256(data) != export.sha256:
            return (
                "rendering its orders again gives other bytes (the layout or an order "
                "changed). Put the file back, or `run.py resend` its orders: "
                + ", ".join(export.refs)
            )
        return data

    def _load(self, row: OrderRow) -> Prepared | str:
        """The order prepared for the layout, or why its spooled body cannot be read."""
        try:
            body = self.spool.read(row.spool_name)
            if _sha256(body) != row.sha256:
                # Changed since it was received (a disk fault, a hand edit, an erasure):
                # the ERP must get the order as the buyer sent it, or not at all.
                return (
                    f"the spooled order {row.spool_name} cannot be read as received: it does "
                    "not match the hash the order book keeps; resend the order from Norce"
                )
            order = parse_order(body, row.kind)
        except (OSError, ValueError, BodyRefused) as exc:
            return f"the spooled order {row.spool_name} cannot be read: {exc}"
        # An order without SubmitDate is dated by its arrival: the same bytes on every resend.
        return prepare(self.layout, order, received=dt.datetime.fromisoformat(row.received_at))

    def _unfit_reason(self, prepared: Prepared) -> str:
        fmt, path = self.layout.format, self.layout.path
        shown = "; ".join(prepared.unfit[:5]) + ("; ..." if len(prepared.unfit) > 5 else "")
        if fmt.unencodable == "hold":
            fix = f'set unencodable = "transliterate" or "replace" under [format] in {path}'
        else:
            fix = f'nothing near it fits; set unencodable = "replace" under [format] in {path}'
        return (
            f"layout {self.layout.name}: {shown}. To send it anyway, {fix}, then "
            f"`run.py release {prepared.ref}`"
        )

    def _wrong_reason(self, prepared: Prepared) -> str:
        # A release only lets the order try again: say so, or the operator loops.
        return (
            f"layout {self.layout.name} cannot write this order correctly: "
            f"{'; '.join(prepared.wrong)}. A release does not change this (the layout holds "
            "it again): correct the order in Norce and resend the corrected body "
            "(`run.py resend REF --variant N`), or enter it in the ERP by hand"
        )

    def _hold(self, taken: Taken[OrderRow], ref: str, reason: str) -> None:
        log.error("orders %s: order %s held: %s", self.layout.name, ref, reason)
        self.book.hold(ref, reason, stamp(self.clock))
        taken.held[ref] = reason

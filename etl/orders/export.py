"""The export job: due orders -> order files on the ERP's server, every order exactly once per layout.

One file, start to end:

    render -> outbox/erp/<layout>/<file> (fsync'd) -> book.begin_export -> upload as <file>.part
    -> size check -> rename to <file> -> outbox/erp/<layout>/sent/<file> -> done-marker
    -> book.finish_export -> archive/orders/exported/<layout>/<day>/<file>

The outbox folders say how far a file got. A file in `outbox/erp/<layout>/` may or may not be
on the server; one in `sent/` is, under its final name. An export the book holds as begun
but not finished (the process died) is settled first on the next run: in `sent/`, or on the
server under its final name with the recorded size: finished, not uploaded again; only its
temp name there: that is removed and the same bytes are uploaded again; nothing there:
uploaded again. The one window this cannot see into is between the server's rename and the
move to `sent/` (microseconds), if the ERP also takes the file away within it.

A server that is read-only for us (the embedded default's `samples/erp`) gets nothing: the
files are rendered into the outbox for a person to look at, and no order counts as exported.
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

from etl.errors import EtlError, TransportError
from etl.locks import feed_lock
from etl.orders import naming
from etl.orders.bodies import BodyRefused, parse_order
from etl.orders.book import ExportRow, OrderBook, OrderRow
from etl.orders.layouts import Layout
from etl.orders.render import Prepared, prepare, render
from etl.orders.spool import Spool, fsync_dir, write_durably
from etl.settings import Settings
from etl.transport.base import Store

log = logging.getLogger(__name__)


@dataclass
class ExportSummary:
    """What one run of the job did for one layout."""

    layout: str
    files: list[str] = field(default_factory=list)  # new files that reached the ERP
    orders: int = 0  # orders in those files
    finished: list[str] = field(default_factory=list)  # earlier exports settled by lookup
    uploaded_again: list[str] = field(default_factory=list)  # earlier exports sent again
    stuck: list[str] = field(default_factory=list)  # earlier exports a person must look at
    held: dict[str, str] = field(default_factory=dict)  # order ref -> why it was held
    outbox_only: bool = False  # read-only store: rendered, not uploaded, nothing recorded
    skipped: bool = False  # another process was exporting this layout
    error: str | None = None  # the run stopped here (server unreachable...): retried next run


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
    """Settle unfinished exports of `layout`, then export its due orders; one run, one layout.

    `pause_after_upload_seconds` is fault injection for kill tests: the job waits after
    the file is on the server under its final name, before the export is committed.
    """
    job = _Export(settings, book, spool, store, layout, clock, pause_after_upload_seconds, sleep)
    with feed_lock(settings.folder("state") / "locks", f"order-layout.{layout.name}") as taken:
        if not taken:
            log.info("orders %s: already exporting elsewhere, skipped", layout.name)
            job.summary.skipped = True
            return job.summary
        try:
            job.run()
        except EtlError as exc:
            log.error("orders %s: export stopped, retried next run: %s", layout.name, exc)
            job.summary.error = str(exc)
    summary = job.summary
    log.info(
        "orders %s: %d files with %d orders%s; %d earlier exports finished, %d sent again, "
        "%d stuck; %d orders held",
        layout.name,
        len(summary.files),
        summary.orders,
        " (outbox only)" if summary.outbox_only else "",
        len(summary.finished),
        len(summary.uploaded_again),
        len(summary.stuck),
        len(summary.held),
    )
    return summary


class _Export:
    """One run of the job over one layout."""

    def __init__(
        self,
        settings: Settings,
        book: OrderBook,
        spool: Spool,
        store: Store,
        layout: Layout,
        clock: Callable[[], dt.datetime],
        pause: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.book, self.spool, self.store, self.layout = book, spool, store, layout
        self.clock, self.pause, self.sleep = clock, pause, sleep
        self.outbox = settings.folder("outbox") / "erp" / layout.name
        self.sent = self.outbox / "sent"
        self.archive = settings.folder("archive") / "orders" / "exported" / layout.name
        self.summary = ExportSummary(layout.name)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        """Settle what an earlier run left, then export due orders file by file."""
        unfinished = self.book.unfinished_exports(self.layout.name)
        self._tidy({e.file_name for e in unfinished})
        if self.store.read_only:
            self._outbox_only()
            return
        for export in unfinished:
            self._settle(export)
        while len(self.summary.files) < self.layout.spec.max_files_per_run:
            rows = self.book.due(self.layout.name, self.layout.orders_per_file)
            if not rows:
                break
            ready = self._prepare(rows)
            if ready:
                self._export_new(ready)

    def _export_new(self, ready: Sequence[tuple[OrderRow, Prepared]]) -> None:
        rows = [row for row, _ in ready]
        data = render(self.layout, [p for _, p in ready])
        name = naming.choose(self.layout.target.file_name, rows, self._taken)
        local = self.outbox / name
        # On disk before the book knows it, so a retry can always send these same bytes.
        write_durably(local, data)
        export_id = f"{self.layout.name}/{name}"
        sha = hashlib.sha256(data).hexdigest()
        self.book.begin_export(
            export_id, self.layout.name, name, rows, sha, len(data), self._stamp()
        )
        self._deliver(export_id, name, local, len(data), len(rows))
        self.summary.files.append(name)
        self.summary.orders += len(rows)

    def _outbox_only(self) -> None:
        log.warning(
            "orders %s: store %r is read-only, so order files are only written to %s; nothing "
            "is uploaded and no order counts as exported (give the layout a writable store)",
            self.layout.name,
            self.store.name,
            self.outbox,
        )
        self.summary.outbox_only = True
        per_file = self.layout.orders_per_file
        rows = self.book.due(self.layout.name, per_file * self.layout.spec.max_files_per_run)
        for start in range(0, len(rows), per_file):
            ready = self._prepare(rows[start : start + per_file])
            if not ready:
                continue
            data = render(self.layout, [p for _, p in ready])
            rows_in = [row for row, _ in ready]
            name = naming.choose(self.layout.target.file_name, rows_in, self._taken_locally)
            write_durably(self.outbox / name, data)
            self.summary.files.append(name)

    # -- orders in -------------------------------------------------------------------------

    def _prepare(self, rows: Sequence[OrderRow]) -> list[tuple[OrderRow, Prepared]]:
        """Each order read from the spool and prepared; those that cannot go are held."""
        ready = []
        for row in rows:
            prepared = self._load(row)
            if isinstance(prepared, str):
                self._hold(row.ref, prepared)
                continue
            if prepared.unfit:
                self._hold(row.ref, self._unfit_reason(prepared))
                continue
            for change in prepared.changed:
                log.warning("orders %s: order %s: %s", self.layout.name, row.ref, change)
            ready.append((row, prepared))
        return ready

    def _load(self, row: OrderRow) -> Prepared | str:
        """The order prepared for the layout, or why its spooled body cannot be read."""
        try:
            order = parse_order(self.spool.read(row.spool_name), row.kind)
        except (OSError, ValueError, BodyRefused) as exc:
            return f"the spooled order {row.spool_name} cannot be read: {exc}"
        return prepare(self.layout, order)

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

    def _hold(self, ref: str, reason: str) -> None:
        log.error("orders %s: order %s held: %s", self.layout.name, ref, reason)
        self.book.hold(ref, reason, self._stamp())
        self.summary.held[ref] = reason

    # -- files out -------------------------------------------------------------------------

    def _deliver(self, export_id: str, name: str, local: Path, size: int, orders: int) -> None:
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
        self._finish(export_id, name, f"{orders} orders, {size} bytes")

    def _finish(self, export_id: str, name: str, counts: str) -> None:
        """The file is on the server under its final name: marker, commit, archive."""
        self._write_marker(name)
        log.info(
            "orders %s: %s (%s) is on %s as %s; committing the export",
            self.layout.name,
            name,
            counts,
            self.store.name,
            self._remote(name),
        )
        if self.pause > 0:
            self.sleep(self.pause)
        self.book.finish_export(export_id, self._stamp())
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
            log.info("orders %s: %s reached the ERP before the stop", self.layout.name, name)
            self._finish(export.export_id, name, _counts(export))
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
        log.info("orders %s: %s never arrived; uploading it again", self.layout.name, name)
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
        log.info("orders %s: %s found on the server; finishing", self.layout.name, name)
        local = self.outbox / name
        if local.exists():
            self._move(local, self.sent / name)
        self._finish(export.export_id, name, _counts(export))
        self.summary.finished.append(name)

    def _same_bytes(self, export: ExportRow) -> Path | None:
        """The exact bytes the export recorded: from the outbox, else rendered again."""
        local = self.outbox / export.file_name
        if local.exists() and _sha256(local.read_bytes()) == export.sha256:
            return local
        rows = [row for ref in export.refs if (row := self.book.order(ref)) is not None]
        rows.sort(key=lambda r: (r.received_at, r.ref))
        loaded = [self._load(row) for row in rows]
        prepared = [p for p in loaded if isinstance(p, Prepared) and not p.unfit]
        data = render(self.layout, prepared) if len(prepared) == len(export.refs) else b""
        if _sha256(data) != export.sha256:
            self._stuck(
                export.file_name,
                f"its file is gone from {self.outbox} and rendering its orders again gives "
                "other bytes (the layout or an order changed). Put the file back, or "
                "`run.py resend` its orders: " + ", ".join(export.refs),
            )
            return None
        write_durably(local, data)
        return local

    def _stuck(self, name: str, why: str) -> None:
        log.error("orders %s: export %s cannot be finished: %s", self.layout.name, name, why)
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
                if self.book.file_name_taken(self.layout.name, path.name):
                    self._move(path, self.archive / self.clock().strftime("%Y-%m-%d") / path.name)
                else:
                    path.unlink()  # rendered again from the same orders if they are still due

    def _taken(self, name: str) -> bool:
        """Used by an earlier export, or a file of that name (or its temp, marker) on the server."""
        if self.book.file_name_taken(self.layout.name, name):
            return True
        target = self.layout.target
        names = [name, name + target.temp_suffix]
        if target.done_marker is not None:
            names.append(naming.marker(target.done_marker, name))
        return any(self.store.exists(self._remote(n)) for n in names)

    def _taken_locally(self, name: str) -> bool:
        """Outbox-only runs: used by an earlier export, or by a file of this run."""
        return self.book.file_name_taken(self.layout.name, name) or name in self.summary.files

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

    def _stamp(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _counts(export: ExportRow) -> str:
    return f"{len(export.refs)} orders, {export.size} bytes"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

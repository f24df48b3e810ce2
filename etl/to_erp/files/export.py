"""The export job: due units -> files on the ERP's server, every unit exactly once per layout.

One path for every subject a layout renders (orders here; customers and companies changed in
Norce, etl.to_erp.parties.supply): what differs is a `Supply` (what is due, how a unit is read and
prepared, how the ledger records an export); the way a file travels is this module's alone.
One file, start to end:

    render -> outbox/erp/<layout>/<file> (fsync'd) -> supply.begin (the ledger) -> upload as
    <file>.part -> size check (stat) -> rename to <file> -> outbox/erp/<layout>/sent/<file>
    -> done-marker -> supply.finish -> archive/<area>/exported/<layout>/<day>/<file>

Files go a batch at a time (up to BATCH_FILES): rendered and fsync'd together, begun in one
ledger commit, published together (etl.transport.publish: upload, size check and rename for each
file; over SFTP each step's requests for the whole batch go out before the answers are awaited),
finished in one commit. The batches go in a pipeline: a batch's uploads (and then the next
listing of the target folder) run on one thread of the run's own, the only one that talks to
the store meanwhile, while the next batch is read, prepared and rendered in memory; that batch
is named, put in the outbox and begun only once the one before is committed. So at most one
batch is begun and not finished, as before, and a kill in between leaves nothing of the next
batch but what was in memory (a batch a dead run was writing into the outbox, its temp files,
is swept by the next run). The layout's temp name is the only one (the store writes it straight,
created exclusively), and the size check asks the server for that one file: nothing lists the
target folder for it. Each file moves to `sent/` the moment its rename is answered; `sent/` is
fsync'd once for the batch, before the commit.

The outbox folders say how far a file got. A file in `outbox/erp/<layout>/` may or may not be
on the server; one in `sent/` is, under its final name. An export the ledger holds as begun
but not finished (the process died) is settled first on the next run: in `sent/`, or on the
server under its final name with the recorded size: finished, not uploaded again; only its
temp name there: that is removed and the same bytes are uploaded again; nothing there:
uploaded again. Each look is one `stat` of that name on the server. The one window this
cannot see into is between the server's rename and the move to `sent/` (microseconds), if
the ERP also takes the file away within it; after a power cut, until the batch's fsync of
`sent/` (a few milliseconds after its renames).

With `[storage] backend = "s3"` the outbox is in the bucket too (etl.to_erp.files
.shared_outbox): each file before its export is begun, a `sent/` mark as its rename is
answered; so a machine settles what another machine's dead run left just as its own. The
archive is there too (etl.state.exported_archive): a committed file is put in it before its
outbox copies go, so any machine's next run archives what a dead run left, once.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from etl.config.settings import Settings
from etl.errors import EtlError, TransportError
from etl.runtime import ledger_at
from etl.state.areas import Areas, FileArea
from etl.state.atomic import fsync_dir, write_atomically
from etl.state.blobs import StorageError
from etl.state.exported_archive import open_exported
from etl.state.ledger.exported_files import ExportRow
from etl.state.locks import feed_lock
from etl.state.spool_base import BodySpool
from etl.to_erp.files import naming, outbox
from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.prepared import Prepared
from etl.to_erp.files.render import prepare, render
from etl.to_erp.files.shared_outbox import SharedOutbox, open_shared_outbox
from etl.to_erp.orders.bodies import BodyRefused, parse_order
from etl.to_erp.orders.book import OrderBook, OrderRow
from etl.transport.base import Store
from etl.transport.publish import Outgoing, publish

log = logging.getLogger(__name__)

U = TypeVar("U")

# Files rendered, recorded and uploaded together: the ledger commits once a batch on each
# side of the uploads, and the batch's outbox files are fsync'd side by side (etl.to_erp.files
# .outbox), instead of both once a file. A crash mid-batch is settled file by file as ever.
BATCH_FILES = 50
# ... and at most this many orders (or parties) in memory at once: a layout of 500 orders a
# file takes 10 files a batch, one of 100,000 a file one file, as before batching.
BATCH_UNITS = 5000

# What a batched supply records per file before the uploads: export id, name, units, hash, size.
Begun = tuple[str, str, Sequence[Any], str, int]


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


@dataclass(frozen=True)
class _File(Generic[U]):
    """One file of a batch: in the outbox, recorded as begun, then uploaded."""

    export_id: str
    name: str
    local: Path
    units: Sequence[U]
    sha256: str
    size: int

    def begun(self) -> Begun:
        """What a batched supply records for it."""
        return (self.export_id, self.name, self.units, self.sha256, self.size)


@dataclass
class _Flight(Generic[U]):
    """A batch begun and on its way: the files the server has so far, and the uploads."""

    files: list[_File[U]]
    delivered: list[_File[U]] = field(default_factory=list)
    done: Future[None] | None = None

    def landed(self, index: int) -> None:
        """File `index` is on the server under its final name (the store's thread says)."""
        self.delivered.append(self.files[index])


@runtime_checkable
class Batched(Protocol):
    """A supply that records a batch of files in one ledger transaction each way."""

    def begin_many(self, files: Sequence[Begun], at: str) -> None:
        """Before the uploads: each of these files, with its units, is on its way."""

    def finish_many(self, export_ids: Sequence[str], at: str) -> None:
        """After the uploads and their checks: these files are the ERP's."""


@runtime_checkable
class NamesAtOnce(Protocol):
    """A supply that looks up many file names in one ledger query."""

    def names_used(self, names: Sequence[str]) -> set[str]:
        """Those of `names` an export of the layout already used."""


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

    def finished_at(self, name: str) -> str | None:
        """When the export that used this name was committed (None: it was not)."""

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
    # On a PostgreSQL ledger the layout's lock holds on every machine: one run's bucket
    # clean-up (`_tidy_shared`) never takes another's files put before their export began.
    with feed_lock(Areas(settings.home).locks, supply.lock, ledger_at(settings)) as taken:
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
        # Where committed files are archived: this disk, or with "s3" the bucket.
        self.archived = open_exported(
            settings.storage, areas, supply.area, f"{supply.noun} {layout.name}"
        )
        # [storage] backend = "s3": the files also in the bucket, for any machine to finish.
        self.shared: SharedOutbox | None = open_shared_outbox(
            settings.storage, areas.erp_outboxes, layout.name
        )
        self.summary = ExportSummary(layout.name)
        self.naming: set[str] = set()  # names this run chose (before the ledger has them)
        # The batch's first-choice names, looked up in the ledger at once; the names of them
        # it has. A name not among them (a `_2` after a taken one) is asked on its own.
        self.asked: set[str] = set()
        self.used: set[str] = set()
        self.names_at_once = supply if isinstance(supply, NamesAtOnce) else None
        self.present: set[str] | None = set()  # names in the target folder at the batch's start
        self.unsynced = False  # files moved into `sent/` since it was last fsync'd

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        """Settle what an earlier run left, then export due units a batch of files at a time."""
        unfinished = self.supply.unfinished()
        outbox.sweep(self.outbox)  # a batch a dead run was writing: never begun, due again
        self._tidy({e.file_name for e in unfinished})
        if self.store.read_only:
            self._outbox_only()
            return
        for export in unfinished:
            self._settle(export)
        # The one thread that talks to the store while the batches go: a batch's uploads
        # (and the next batch's listing) there, the next batch read, prepared and rendered
        # here meanwhile. One at a time on the session, in the order they were asked.
        with ThreadPoolExecutor(1, thread_name_prefix="export-store") as remote:
            flight: _Flight[U] | None = None
            try:
                while units := self._due(flight):
                    # One listing a batch, to pick free names, made after the batch in flight
                    # is up and while these units are read, prepared and rendered. A file put
                    # there meanwhile is still never overwritten (the upload creates
                    # exclusively, the rename refuses a taken name).
                    listing = remote.submit(self._listed)
                    rendered = self._rendered(units)
                    self.present = listing.result()
                    landing, flight = flight, None
                    if landing is not None:
                        self._land(landing)  # committed before the next batch is begun
                    if rendered:
                        flight = self._launch(remote, self._placed(rendered))
            finally:
                if flight is not None:
                    self._land(flight)

    def _due(self, flight: _Flight[U] | None) -> Sequence[U]:
        """The next batch's units; none when the run has room for no more files."""
        per_file = self.layout.orders_per_file
        going = len(flight.files) if flight is not None else 0
        room = self.layout.spec.max_files_per_run - len(self.summary.files) - going
        if room <= 0:
            return []
        return self.supply.due(per_file * max(1, min(room, BATCH_FILES, BATCH_UNITS // per_file)))

    def _rendered(self, units: Sequence[U]) -> list[tuple[Sequence[U], bytes]]:
        """The units read and prepared (those that cannot go held), then rendered a file's
        worth at a time; named only once the target folder's listing is in."""
        ready, per_file = self._take(units), self.layout.orders_per_file
        groups = [ready[i : i + per_file] for i in range(0, len(ready), per_file)]
        return [([u for u, _ in g], render(self.layout, [p for _, p in g])) for g in groups]

    def _take(self, units: Sequence[U]) -> list[tuple[U, Prepared]]:
        taken = self.supply.take(units)
        self.summary.held.update(taken.held)
        self.summary.gone.extend(taken.gone)
        return taken.ready

    def _launch(self, remote: ThreadPoolExecutor, files: list[_File[U]]) -> _Flight[U]:
        """Record the batch as begun, then start its uploads on the store's thread."""
        self._begin(files)
        flight: _Flight[U] = _Flight(files)
        flight.done = remote.submit(
            self._publish, [(f.name, f.local) for f in files], flight.landed
        )
        return flight

    def _land(self, flight: _Flight[U]) -> None:
        """Wait for a batch's uploads; commit the files on the server, then raise what
        stopped the others (those not committed are settled by the next run)."""
        error = flight.done.exception() if flight.done is not None else None
        if error is None or isinstance(error, EtlError):
            self._finish_new(flight.delivered)  # those on the server are the ERP's
        if error is not None:
            raise error

    def _placed(self, rendered: Sequence[tuple[Sequence[U], bytes]]) -> list[_File[U]]:
        """Each rendered file named, durable in the outbox (and the bucket)."""
        batch, files, datas = outbox.Batch(), [], {}
        self._look_up_names([units for units, _ in rendered])
        try:
            for units, data in rendered:
                name = self.supply.name(units, self._taken)
                self.naming.add(name)  # not in the ledger before the batch is begun
                batch.add(self.outbox / name, data)  # fsync'd side by side with the others
                files.append(_File(f"{self.layout.name}/{name}", name, self.outbox / name,
                                   units, _sha256(data), len(data)))  # fmt: skip
                datas[name] = data
            # On disk before the ledger knows them, so a retry can always send these same
            # bytes; and in the bucket, so a retry on another machine can too.
            batch.place()
            if self.shared is not None:
                self.shared.put_batch(datas)
        except BaseException:
            batch.discard()
            raise
        return files

    def _look_up_names(self, groups: Sequence[Sequence[U]]) -> None:
        """Ask the ledger once for the name each group would have first (none of them taken)."""
        if self.names_at_once is None:
            return
        firsts = {self.supply.name(units, _never_taken) for units in groups}
        self.asked, self.used = firsts, self.names_at_once.names_used(sorted(firsts))

    def _begin(self, files: Sequence[_File[U]]) -> None:
        """Record the batch before its uploads: in one transaction where the supply can."""
        at = self._stamp()
        if isinstance(self.supply, Batched):
            self.supply.begin_many([f.begun() for f in files], at)
            return
        for f in files:
            self.supply.begin(f.export_id, f.name, f.units, f.sha256, f.size, at)

    def _finish_new(self, files: Sequence[_File[U]]) -> None:
        self._finish(
            [(f.export_id, f.name, f"{len(f.units)} {self.noun}, {f.size} bytes") for f in files]
        )
        for f in files:
            self.summary.files.append(f.name)
            self.summary.units += len(f.units)

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

    def _publish(self, files: Sequence[tuple[str, Path]], landed: Callable[[int], None]) -> None:
        """Upload each (name, local file) under the layout's temp name, check its size, rename
        it (etl.transport.publish: the whole batch at once where the store can); each file
        moves to `sent/` as it lands, then `landed(i)`."""
        suffix = self.layout.target.temp_suffix
        self.sent.mkdir(parents=True, exist_ok=True)  # once for the batch, not once a file

        def published(index: int) -> None:
            name, local = files[index]
            # `sent/` is what says the file is on the server if the ERP takes it before the
            # commit: moved the moment the server has renamed it, fsync'd once for the batch.
            local.replace(self.sent / name)
            self.unsynced = True
            if self.shared is not None:
                self.shared.mark_sent(name)  # what `sent/` says, for every machine
            self._write_marker(name, fresh=True)
            landed(index)

        # The temp name is the layout's, written straight (the store adds no second one).
        outgoing = [
            Outgoing(local, self._remote(n) + suffix, self._remote(n)) for n, local in files
        ]
        publish(self.store, outgoing, published)

    def _sent_synced(self) -> None:
        """fsync `sent/` if files moved there since: before the commit that archives them."""
        if self.unsynced:
            self.unsynced = False
            fsync_dir(self.sent)

    def _finish(self, files: Sequence[tuple[str, str, str]]) -> None:
        """Files on the server under their final names (export id, name, counts): commit, archive."""
        for _, name, counts in files:
            log.info(
                "%s %s: %s (%s) is on %s as %s; committing the export",
                self.noun,
                self.layout.name,
                name,
                counts,
                self.store.name,
                self._remote(name),
            )
        if not files:
            return
        self._sent_synced()
        if self.pause > 0:
            self.sleep(self.pause)
        at = self._stamp()
        if isinstance(self.supply, Batched):
            self.supply.finish_many([export_id for export_id, _, _ in files], at)
        else:
            for export_id, _, _ in files:
                self.supply.finish(export_id, at)
        self._archive([name for _, name, _ in files], at)

    def _archive(self, names: Sequence[str], at: str) -> None:
        """Committed files from `sent/` (or, prepared elsewhere, the bucket) to the archive.

        With `[storage] backend = "s3"` the archive is in the bucket, and the bucket's outbox
        copies (then this machine's) are let go only once it holds them: a run that dies, or
        a bucket that fails, in between leaves them for the next run on any machine, which
        archives them (create-only: once). The export has committed: a failure here is one
        line, never the run's error. There the day folder is the commit's (`at`, the ledger's
        stamp), so a retry on any machine, on any day, puts the file under the same key.
        """
        day = self.clock().strftime("%Y-%m-%d") if self.shared is None else at[:10]
        sent = [name for name in names if (self.sent / name).exists()]
        files: dict[str, Path | bytes] = {name: self.sent / name for name in sent}
        if self.shared is None:
            self.archived.keep(self.layout.name, day, files)
            return
        # A committed file left in the outbox itself (not moved to `sent/`) is the same bytes.
        for name in names:
            if name not in files and (self.outbox / name).exists():
                files[name] = self.outbox / name
        try:
            files |= _from_shared(self.shared, [n for n in names if n not in files])
            self.archived.keep(self.layout.name, day, files)
            self.shared.drop(names)  # those it had no bytes of were archived before
        except StorageError as exc:
            log.warning(
                "%s %s: %d committed file(s) not archived yet (the next run archives them): %s",
                self.noun, self.layout.name, len(names), exc,
            )  # fmt: skip
            return
        for name in names:
            (self.sent / name).unlink(missing_ok=True)
            (self.outbox / name).unlink(missing_ok=True)

    def _write_marker(self, name: str, *, fresh: bool = False) -> None:
        """The done-marker beside `name`; `fresh`: the file was renamed into place just now."""
        template = self.layout.target.done_marker
        if template is None:
            return
        marker = naming.marker(template, name)
        path = self._remote(marker)
        if not fresh and (self.store.exists(path) or not self.store.exists(self._remote(name))):
            return  # written before the stop; or the ERP has taken the file (a lone marker lies)
        empty = self.outbox / f".{marker}"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_bytes(b"")
        try:
            # Empty: nothing to see half-written, so no temp name (created exclusively).
            self.store.upload(empty, path, through_temp=False)
        finally:
            empty.unlink(missing_ok=True)

    # -- an export an earlier run left unfinished ------------------------------------------

    def _settle(self, export: ExportRow) -> None:
        name = export.file_name
        remote = self._remote(name)
        if (self.sent / name).exists() or (self.shared is not None and self.shared.was_sent(name)):
            log.info("%s %s: %s reached the ERP before the stop", self.noun, self.layout.name, name)
            self._write_marker(name)
            self._finish([(export.export_id, name, self._counts(export))])
            self.summary.finished.append(name)
            return
        # Read back: the server says whether the file (or only its temp name) is there.
        found = self.store.stat(remote)
        if found is not None:
            self._settle_present(export, found.size)
            return
        temp = remote + self.layout.target.temp_suffix
        if self.store.stat(temp) is not None:
            self.store.remove(temp)
        local = self._same_bytes(export)
        if local is None:
            return
        log.info("%s %s: %s never arrived; uploading it again", self.noun, self.layout.name, name)
        self._publish([(name, local)], lambda _: None)
        self._finish([(export.export_id, name, self._counts(export))])
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
            outbox.move(local, self.sent / name)
        self._write_marker(name)
        self._finish([(export.export_id, name, self._counts(export))])
        self.summary.finished.append(name)

    def _same_bytes(self, export: ExportRow) -> Path | None:
        """The exact bytes the export recorded: from the outbox, else rendered again."""
        local = self.outbox / export.file_name
        if local.exists() and _sha256(local.read_bytes()) == export.sha256:
            return local
        shared = self.shared.read(export.file_name) if self.shared is not None else None
        if shared is not None and _sha256(shared) == export.sha256:
            write_atomically(local, shared)  # prepared on another machine
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
        if self.shared is not None:
            self._tidy_shared(self.shared, unfinished)
            return
        for folder in (self.outbox, self.sent):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.name.startswith(".") or path.name in unfinished:
                    continue
                if self.supply.name_used(path.name):
                    day = self.archive / self.clock().strftime("%Y-%m-%d")
                    outbox.move(path, day / path.name)
                else:
                    path.unlink()  # rendered again from the same units if they are still due

    def _tidy_shared(self, shared: SharedOutbox, unfinished: set[str]) -> None:
        """Files of finished exports (the bucket's, this disk's) archived in the bucket, then
        let go with the rest.

        The outbox copies of a committed file go only after the archive has it, so what is
        left was not archived yet, or was (a run that died in between): archived again under
        the same key (the commit's day, create-only), it is archived once.
        """
        local = {p.name for p in self._local_files()}
        left = (shared.names() | local) - unfinished
        # A file no export was begun for was never sent: its units are still due, and it is
        # rendered again. One exporter of a layout runs at a time (the layout's lock on a
        # machine, the job's procrastinate lock across workers): no other is about to begin it.
        committed: dict[str, list[str]] = {}  # commit stamp -> names
        for name in sorted(left):
            if (at := self.supply.finished_at(name)) is not None:
                committed.setdefault(at, []).append(name)
        for at, names in committed.items():
            self._archive(names, at)
        dropped = sorted(left - {n for names in committed.values() for n in names})
        shared.drop(dropped)
        for name in dropped:
            (self.outbox / name).unlink(missing_ok=True)
            (self.sent / name).unlink(missing_ok=True)

    def _local_files(self) -> list[Path]:
        """This machine's copies in the outbox and `sent/` (temps left out)."""
        folders = [f for f in (self.outbox, self.sent) if f.is_dir()]
        found = [p for f in folders for p in sorted(f.iterdir())]
        return [p for p in found if p.is_file() and not p.name.startswith(".")]

    def _taken(self, name: str) -> bool:
        """Used by an earlier export or this batch, or a file of that name (or its temp,
        marker) on the server."""
        if name in self.naming or self._used(name):
            return True
        target = self.layout.target
        names = [name, name + target.temp_suffix]
        if target.done_marker is not None:
            names.append(naming.marker(target.done_marker, name))
        if self.present is None:
            return any(self.store.exists(self._remote(n)) for n in names)
        return any(n in self.present for n in names)

    def _used(self, name: str) -> bool:
        """Used by an earlier export: from the batch's one lookup where it asked for it."""
        return name in self.used if name in self.asked else self.supply.name_used(name)

    def _listed(self) -> set[str] | None:
        """Names in the target folder; None when it cannot be listed (a local root the first
        upload creates): then each name is asked for."""
        try:
            return {f.name for f in self.store.list(self.layout.target.folder)}
        except TransportError as exc:
            log.debug("%s %s: names asked one by one: %s", self.noun, self.layout.name, exc)
            return None

    def _taken_locally(self, name: str) -> bool:
        """Outbox-only runs: used by an earlier export, or by a file of this run."""
        return self.supply.name_used(name) or name in self.summary.files

    def _remote(self, name: str) -> str:
        return posixpath.normpath(posixpath.join(self.layout.target.folder, name))

    def _counts(self, export: ExportRow) -> str:
        return f"{len(export.refs)} {self.noun}, {export.size} bytes"

    def _stamp(self) -> str:
        return stamp(self.clock)


def stamp(clock: Callable[[], dt.datetime]) -> str:
    """Now, ISO 8601 UTC to the millisecond: how the ledgers write times."""
    return clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _from_shared(shared: SharedOutbox, names: Sequence[str]) -> dict[str, Path | bytes]:
    """Files another machine prepared, read from the bucket's outbox (those it still has)."""
    found: dict[str, Path | bytes] = {}
    for name in names:
        data = shared.read(name)
        if data is not None:
            found[name] = data
    return found


def _never_taken(_: str) -> bool:
    """What a name's first choice is asked with: the template's name before any `_2`."""
    return False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- orders ------------------------------------------------------------------------------------


def export_orders(
    settings: Settings,
    book: OrderBook,
    spool: BodySpool,
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
        self, book: OrderBook, spool: BodySpool, layout: Layout, clock: Callable[[], dt.datetime]
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

    def names_used(self, names: Sequence[str]) -> set[str]:
        """Those of `names` an export of the layout used, in one query."""
        return self.book.file_names_taken(self.layout.name, names)

    def finished_at(self, name: str) -> str | None:
        """When the export of the layout that used this name was committed."""
        return self.book.finished_at(self.layout.name, name)

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

    def begin_many(self, files: Sequence[Begun], at: str) -> None:
        """Record a batch of exports and their orders before the uploads, in one commit."""
        self.book.begin_exports(self.layout.name, files, at)

    def finish_many(self, export_ids: Sequence[str], at: str) -> None:
        """A batch of exports reached the ERP, in one commit: their orders are exported."""
        self.book.finish_exports(export_ids, at)

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

"""`run.py forget`: erase one person from every place the product keeps data.

Order of work: find the person (customer snapshots and the rows runs rejected, then their
orders in the spool), mask them in every file area and in the ledger, note the change in the
manifests of archived run folders, then log the request (as a salted hash), the places with
counts, and what could not be erased here. A dry run finds and counts the same way and
changes nothing.

Kept on purpose: a snapshot keeps the person's key and row state (values masked), so the
next file without them is not a second removal and a file with them again is a change or a
reactivation, as the ERP says; the ledger keeps keys, hashes and states, so nothing is sent
twice. Files waiting in `inbox/` for their run are not changed: they are counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.errors import EtlError
from etl.models import STATE
from etl.privacy import audit
from etl.privacy.journal import Journal
from etl.privacy.ledger import mask_ledger
from etl.privacy.masking import DEFAULT_REPLACEMENT, Masker
from etl.privacy.needed import buyer_orders, forget_buyers, still_needed
from etl.privacy.person import Found, Request, find_person
from etl.privacy.places import Place, Sweep, note_in_manifests, sweep
from etl.privacy.rejected_rows import RejectedInputs, reads_folder
from etl.privacy.stored_erp_outbox import sweep_stored_erp_outbox
from etl.privacy.stored_exported import sweep_stored_exported
from etl.privacy.stored_outbox import sweep_stored_outbox
from etl.privacy.stored_refused import refused_copies, refused_on_disk
from etl.privacy.stored_runs import Notes, note_stored, stored_archive, sweep_stored
from etl.privacy.stored_snapshots import snapshots_on_disk
from etl.retention.snapshots import forget_row_hashes
from etl.runtime import ledger_at
from etl.state.archive import LocalArchive
from etl.state.areas import FILE_AREAS, PURGE_LOCK, SPOOL_LOCK, Areas
from etl.state.base import Archive
from etl.state.ledger.connection import LedgerAt, ledger_exists
from etl.state.locks import locks_held
from etl.state.spool_copies import spools_on_disk
from etl.to_erp.files.layouts import load_every_layout
from etl.to_erp.orders.book import OrderBook

PEOPLE = ("customer", "company")


@dataclass
class Erasure:
    """What a `forget` found, did (or, in a dry run, would do), and could not do."""

    found: Found
    request: str = ""  # the salted hash, never the value asked for (none in a dry run)
    places: list[Place] = field(default_factory=list)
    not_erased: list[str] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)  # files masked (or to be masked)
    uploaded: int = 0  # files on the ERP's server that held the person
    log: Path | None = None
    packed: list[Path] = field(default_factory=list)  # compressed files not opened (.zip, ...)
    unreadable: list[Path] = field(default_factory=list)  # read neither as their kind nor text
    stored: Notes = field(default_factory=dict)  # runs in object storage masked, for manifests


def forget(
    settings: Settings,
    contracts: dict[str, FeedContract],
    request: Request,
    now: dt.datetime,
    *,
    dry_run: bool,
) -> Erasure:
    """Mask the person everywhere (unless `dry_run`); log and return what was done.

    Every feed and export lock is held throughout, so no run rewrites a snapshot or an
    archive folder while it is being masked; a lock held elsewhere stops the command.
    """
    areas = Areas(settings.home)
    # Spools and people's snapshots on object storage are copied to a private folder laid out
    # as a home, masked there as files, then put back (etl.state.spool_copies).
    people = [c.name for c in contracts.values() if c.entity.name in PEOPLE]
    with (
        _every_lock(areas.locks, _lock_names(settings, contracts), ledger_at(settings)),
        spools_on_disk(settings.storage, areas) as bucket_home,
        snapshots_on_disk(settings.storage, areas.snapshots, Areas(bucket_home).snapshots, people),
        refused_on_disk(settings.storage, areas, bucket_home),  # refused bodies in the bucket
        reads_folder(areas) as reads,  # copies of rejected rows' inputs, read again
    ):
        if dry_run:
            return _erase(settings, contracts, request, None, bucket_home, reads)
        privacy = areas.privacy
        request_id = audit.request_id(privacy, request.kind, request.value)
        journal = Journal(privacy, request_id)
        erasure = _erase(settings, contracts, request, journal, bucket_home, reads)
        erasure.request = request_id
        note_in_manifests(erasure.changed, erasure.request, now)
        stored = stored_archive(settings.storage, settings.home)
        note_stored(stored, erasure.stored, erasure.request, now)
        erasure.log = audit.append(privacy, _record(erasure, request, now))
        forget_buyers(ledger_at(settings), erasure.found.orders)
        forget_row_hashes(areas.retention, erasure.found.codes)
        journal.close()
    return erasure


def _erase(
    settings: Settings,
    contracts: dict[str, FeedContract],
    request: Request,
    journal: Journal | None,
    bucket_home: Path,
    reads: Path,
) -> Erasure:
    """Find the person, refuse while something of theirs is on its way, then mask them.

    `journal` None is a dry run: nothing is written, and what would refuse is listed.
    `bucket_home`: the home whose `state/spool/` and people's `state/snapshots/` are masked:
    this home, or on object storage the private folder of their copies (etl.state.spool_copies).
    `reads`: where the archived inputs of rejected rows are decoded and unpacked to be read.
    """
    home, areas, at = settings.home, Areas(settings.home), ledger_at(settings)
    bodies = Areas(bucket_home)
    snapshot_dirs = _customer_snapshots(bodies.snapshots, contracts)
    paths = [p for d in snapshot_dirs for p in sorted(d.glob("*.parquet"))]
    in_bucket = stored_archive(settings.storage, home)
    rejected = _rejected_inputs(areas, in_bucket, contracts, request, reads)
    found = find_person(
        request, paths, bodies.spool("orders"), bodies.spool("parties"), rejected.frames()
    )
    found.orders |= buyer_orders(at, areas.privacy, _keys(found))
    if journal is not None:
        found = journal.merged(found)
    erasure = Erasure(found)
    person = found.person()
    if not person.found:
        erasure.unreadable = [*rejected.unreadable, *rejected.partial]
        erasure.not_erased = _unsearched(home, rejected)
        return erasure
    masker = Masker(person, unfit_as=_replacements(settings))
    waits = still_needed(at, bodies.spool("orders"), masker)
    if waits and journal is not None:
        raise EtlError("forget changed nothing: " + "; ".join(waits))
    if journal is not None:
        journal.write(found)
    write = journal is not None
    keys = _snapshot_keys(bodies.snapshots, contracts)
    # Masked in place; snapshots only of feeds about people (see `_people_snapshots`).
    held = [bodies.spools, *_people_snapshots(bodies.snapshots, contracts)]
    if bucket_home == home:
        swept = sweep(home, [areas.archive, areas.outbox, *held], masker, write, keys)
    else:  # the bucket's bodies and snapshots, copied: named by the same places
        swept = sweep(home, [areas.archive, areas.outbox, areas.spools], masker, write, keys)
        sweep(bucket_home, [*held, *refused_copies(bucket_home)], masker, write, keys, into=swept)
    # The feeds' runs in object storage ([storage] backend = "s3"), by the same rule.
    stored = sweep_stored(in_bucket, home, masker, write, swept)
    # The files the ERP got, archived in object storage by whichever machine exported them.
    stored |= sweep_stored_exported(settings.storage, home, masker, write, swept)
    sweep_stored_outbox(settings.storage, home, masker, write, swept)
    sweep_stored_erp_outbox(settings.storage, home, masker, write, swept)  # files to archive
    ledger = mask_ledger(at, masker, write)
    waiting = sweep(home, [areas.inbox], masker, False, keys)
    erasure.places = [*swept.places.values(), *_ledger_places(_ledger_name(at), ledger.counts)]
    erasure.changed, erasure.stored = swept.changed, stored
    searched = [*rejected.unreadable, *rejected.partial]
    unsearched = [p for p in searched if p not in swept.unreadable]
    erasure.packed, erasure.unreadable = swept.packed, [*swept.unreadable, *unsearched]
    uploaded = _uploaded(settings, found, swept)
    erasure.uploaded = len(uploaded)
    erasure.not_erased = [*waits, *_not_erased(settings, found, uploaded, swept, waiting)]
    erasure.not_erased += _unsearched(home, rejected, named=swept.unreadable)
    if not ledger.vacuumed:
        erasure.not_erased.append(
            f"{_ledger_name(at)}: another process (the receiver?) holds it open, so freed pages "
            "may still hold the old text; run `forget` again while it is stopped"
        )
    return erasure


def _replacements(settings: Settings) -> frozenset[str]:
    """What layouts write for a letter their encoding lacks: each layout's own character, and
    the default one (a file written before a layout named its own)."""
    layouts = load_every_layout(settings).values()
    return DEFAULT_REPLACEMENT | {layout.contract.format.replacement for layout in layouts}


def _keys(found: Found) -> set[str]:
    """What names the buyer of an order: their e-mail addresses and customer codes."""
    return found.codes | found.emails


def _lock_names(settings: Settings, contracts: dict[str, FeedContract]) -> set[str]:
    """Every feed family's lock and every layout's export lock, the purge's, and the locks
    of this disk's lock files (a feed or layout removed since still has one)."""
    names = {c.source.from_feed or c.name for c in contracts.values()}
    # From the layouts, not the disk: a machine that never exported a layout has no lock file
    # for it, yet on a PostgreSQL ledger another machine's export of it holds its lock.
    layouts = load_every_layout(settings).values()
    names |= {_LAYOUT_LOCKS[layout.path.parent.name] + layout.name for layout in layouts}
    folder = Areas(settings.home).locks
    names |= {p.stem for p in folder.glob("*.lock")} if folder.is_dir() else set()
    return names | {SPOOL_LOCK, PURGE_LOCK}  # the body purge; the whole purge


# The lock an export of a layout holds, by the layout's folder (OrderSupply, PartySupply).
_LAYOUT_LOCKS = {"orders": "order-layout.", "parties": "party-layout."}


@contextmanager
def _every_lock(folder: Path, names: set[str], ledger: LedgerAt) -> Iterator[None]:
    """Hold every lock in `names`; on a PostgreSQL ledger on every machine (etl.state.locks)."""
    with locks_held(folder, names, ledger) as busy:
        if busy is not None:
            raise EtlError(f"{busy} is running right now; run forget again when it finished")
        yield


def _rejected_inputs(
    areas: Areas,
    in_bucket: Archive | None,
    contracts: dict[str, FeedContract],
    request: Request,
    reads: Path,
) -> RejectedInputs:
    """The archived inputs of the customer feeds' runs that rejected rows, on the disk and
    (`[storage] backend = "s3"`) in the bucket: a person only rejected rows hold is in them.

    Customer feeds only, as for the snapshots searched: a company's row is no person's.
    """
    archives: list[Archive] = [LocalArchive(areas.archive)]
    archives += [in_bucket] if in_bucket is not None else []
    customers = [c for c in contracts.values() if c.entity.name == "customer"]
    return RejectedInputs(archives, customers, request, reads)


def _unsearched(home: Path, rejected: RejectedInputs, named: Sequence[Path] = ()) -> list[str]:
    """The lines naming the inputs of rejected rows that could not be read, or only in part
    (but those `named` already as files the sweep could not read)."""
    lines = []
    unreadable = [p for p in rejected.unreadable if p not in named]
    if unreadable:
        lines.append(
            f"{len(unreadable)} archived input(s) with rejected rows could not be read "
            "through their feed's contract, so a person only their rows name may not be found "
            "there: " + ", ".join(str(p.relative_to(home)) for p in unreadable)
        )
    if rejected.partial:
        lines.append(
            f"{len(rejected.partial)} archived input(s) with rejected rows lack a column their "
            "feed's contract reads a person's field from (renamed since?), so were read only "
            "in the columns they have and may still hold the person's values there: "
            + ", ".join(
                f"{p.relative_to(home)} (no {', '.join(lacking)})"
                for p, lacking in rejected.partial.items()
            )
        )
    return lines


def _customer_snapshots(root: Path, contracts: dict[str, FeedContract]) -> list[Path]:
    return [root / c.name for c in contracts.values() if c.entity.name == "customer"]


def _people_snapshots(root: Path, contracts: dict[str, FeedContract]) -> list[Path]:
    """Snapshot folders of customer and company feeds: the only ones that hold people.

    A product or price snapshot is left alone: masking a product name that happens to
    match would send a change to Norce on the next run.
    """
    return [root / c.name for c in contracts.values() if c.entity.name in PEOPLE]


def _snapshot_keys(root: Path, contracts: dict[str, FeedContract]) -> dict[Path, tuple[str, ...]]:
    """Per snapshot folder, the columns that stay: the key and the row's state."""
    return {root / c.name: (*(c.key or c.entity.key), STATE) for c in contracts.values()}


def _ledger_name(at: LedgerAt) -> str:
    """The ledger as the erasure record names it: the home's SQLite file, or PostgreSQL."""
    return "state/ledger.sqlite" if isinstance(at, Path) else "postgresql"


def _ledger_places(name: str, counts: dict[str, tuple[int, int]]) -> list[Place]:
    return [
        Place(f"{name}:{table}", rows, values, "row") for table, (rows, values) in counts.items()
    ]


def _uploaded(settings: Settings, found: Found, swept: Sweep) -> list[str]:
    """Names of the files on the ERP's server that held the person (masked here or not)."""
    areas = Areas(settings.home)
    # Files also on the ERP's server: uploaded there, out of our reach.
    uploaded = [areas.erp_outboxes, *(areas.exported_layouts(a) for a in FILE_AREAS)]
    ours = {p.name for p in swept.changed if any(p.is_relative_to(u) for u in uploaded)}
    return sorted(ours | set(_exported_order_files(settings, found.orders)))


def _not_erased(
    settings: Settings, found: Found, uploaded: list[str], swept: Sweep, waiting: Sweep
) -> list[str]:
    """Plain sentences for the operator: what still holds the person, and where to act."""
    home = settings.home
    lines = []
    if uploaded:
        lines.append(
            f"the ERP's server: {len(uploaded)} file(s) we uploaded held the person: "
            + ", ".join(uploaded)
        )
    lines.append(
        "the ERP: its own records and the exports on its server are the source; "
        "erase the person there, or the next export brings them back"
    )
    codes, orders = sorted(found.codes), sorted(found.orders)
    lines.append(
        f"Norce Commerce: {len(codes)} customer(s) ({', '.join(codes) or 'by e-mail'}) "
        f"and {len(orders)} order(s) ({', '.join(orders) or 'none found'}): "
        "forget or anonymize them in Norce"
    )
    if settings.storage.backend == "s3":
        lines.append(
            "other machines' snapshot caches (state/snapshots/<customer or company feed>/ on "
            "each worker): a copy fetched before now may hold the person until that machine "
            "next diffs the feed, when it fetches the masked snapshot (checked by ETag); "
            "delete that folder there to erase it at once (the next run fetches it again)"
        )
        lines.append(
            "other machines' ERP outboxes (outbox/erp/<layout>/ and its sent/ on each machine "
            "that exports): a file that machine prepared keeps its working copy there until its "
            "export is archived, and an archive that failed is done again from that copy; run "
            "`forget` on that machine too"
        )
    if waiting.changed:
        lines.append(
            f"inbox/: {len(waiting.changed)} file(s) waiting for their run hold the person; "
            "run `forget` again after that run"
        )
    if swept.unreadable:
        lines.append(
            f"{len(swept.unreadable)} file(s) could not be read, so not erased: "
            + ", ".join(str(p.relative_to(home)) for p in swept.unreadable)
        )
    if swept.packed:
        lines.append(
            f"{len(swept.packed)} compressed file(s) were not opened: "
            + ", ".join(str(p.relative_to(home)) for p in swept.packed)
        )
    return lines


def _exported_order_files(settings: Settings, refs: set[str]) -> list[str]:
    """Order files that carried the person's orders to the ERP (from the order book)."""
    at = ledger_at(settings)
    if not refs or not ledger_exists(at):
        return []
    book = OrderBook(at)
    try:
        return [e.file_name for ref in sorted(refs) for e in book.exports(ref)]
    finally:
        book.close()


def _record(erasure: Erasure, request: Request, now: dt.datetime) -> dict[str, object]:
    """The audit record: the request's hash, the time, places with counts; no value."""
    return {
        "at": now.isoformat(),
        "request": erasure.request,
        "asked_by": request.kind,
        "places": {p.name: {f"{p.unit}s": p.files, "values": p.values} for p in erasure.places},
        "not_erased": {
            "erp_server_files": erasure.uploaded,
            "norce_customers": len(erasure.found.codes),
            "norce_orders": len(erasure.found.orders),
            "compressed_files_not_opened": len(erasure.packed),
            "unreadable_files": len(erasure.unreadable),
        },
    }

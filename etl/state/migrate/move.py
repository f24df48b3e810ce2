"""A one-VM home's state moved over, in the order that keeps a failure harmless.

1. Refuse while anything works on the home (its locks, held to the end; the heartbeats),
   and refuse a PostgreSQL ledger that holds rows of another installation.
2. Put `state/moving` in the bucket (moving.py: nothing on the new settings starts while it
   is there), copy the folders into the bucket (resumable: what is there already is skipped;
   the exported order and party files go too, where every machine's purge and forget find
   them), then put the marks that publish the archive's runs and the Norce batches.
3. Copy the ledger into PostgreSQL in one transaction, verified by count and checksum; then
   take `state/moving` away.

The ledger goes last, whole or not at all: an empty target ledger means "not moved yet"
(run the move again: it skips the objects already there), a full one "moved". A target that
holds exactly the home's rows was moved before: the move says so and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.state.areas import NAMES
from etl.state.blobs import Blobs
from etl.state.ledger import catalog
from etl.state.ledger.connection import connect, read_only
from etl.state.ledger.postgres import PostgresAt
from etl.state.migrate import folders, marks, salt
from etl.state.migrate.home_in_use import home_held, refuse_live_processes, runs_left_running
from etl.state.migrate.ledger_copy import (
    TableCopy,
    copy_ledger,
    one_moment,
    row_counts,
    target_copied,
)
from etl.state.migrate.moving import clear_moving, mark_moving

Say = Callable[[str], None]


@dataclass(frozen=True)
class Move:
    """Where the home's state comes from and goes to."""

    home: Path
    source: Path  # the VM's SQLite ledger
    target: PostgresAt | None  # None: the ledger stays where it is
    blobs: Blobs | None  # None: the folders stay where they are
    now: dt.datetime
    quiet_after: dt.timedelta  # a heartbeat older than this is a process gone


def move_state(move: Move, say: Say, *, dry_run: bool = False) -> None:
    """Move (or, dry, describe) the home's state; MoveRefused before anything is written."""
    with home_held(move.home / NAMES.locks):
        source = _open_source(move.source, dry_run=dry_run)
        # A home whose ledger went to PostgreSQL before (with no SQLite file left) moves only
        # its folders; its processes and runs are then PostgreSQL's to tell.
        ledger = source
        if ledger is None and move.target is not None:
            ledger = read_only(move.target)
        try:
            committed = _look_at(ledger, move, say) if ledger is not None else set()
            _move(move, source, committed, say, dry_run=dry_run)
        finally:
            if ledger is not None:
                ledger.close()


def _look_at(ledger: sqlite3.Connection, move: Move, say: Say) -> set[str]:
    """Refuse a live process; name the runs dead ones left; the runs whose commit happened."""
    refuse_live_processes(ledger, move.now, move.quiet_after)
    for run_id in runs_left_running(ledger):
        say(
            f"run {run_id} is left `running` by a process that died: its feed's next run "
            "marks it interrupted and takes its file again"
        )
    return marks.committed_runs(ledger)


def _open_source(path: Path, *, dry_run: bool) -> sqlite3.Connection | None:
    """The VM's ledger; a real move brings its schema up to date first, as any start does."""
    if dry_run or not path.is_file():
        return read_only(path)
    return connect(path)


def _move(
    move: Move,
    source: sqlite3.Connection | None,
    committed: set[str],
    say: Say,
    *,
    dry_run: bool,
) -> None:
    if move.target is None or source is None:
        if move.target is not None:
            say("ledger: no state/ledger.sqlite in this home: nothing to copy")
        _start(move, say, dry_run=dry_run)
        copied = _folders(move, committed, say, dry_run=dry_run)
        _done(move, dry_run=dry_run)
        if not dry_run:
            _say_left_behind(say, copied)
        return
    target = _open_target(move.target, dry_run=dry_run)
    try:
        with one_moment(source):
            # The salt row is not a table's copy: it is the VM's salt file (salt.py).
            tables = [t for t in catalog.tables(source) if t != salt.TABLE]
            vm_salt = salt.vm_salt(move.home)
            salt.refuse_other_salt(target, vm_salt)
            done = target_copied(source, target, tables)
            _say_tables(say, row_counts(source, tables), dry_run=dry_run)
            _start(move, say, dry_run=dry_run)
            copied = _folders(move, committed, say, dry_run=dry_run)
            if dry_run or target is None:
                return
            if done is not None:
                say("ledger: PostgreSQL already holds exactly this home's rows (moved before):")
                _say_copies(say, done)
            else:
                _say_copies(say, copy_ledger(source, target, tables, vm_salt))
                say("ledger: copied in one transaction; every table's rows and checksum verified")
                if vm_salt is not None:
                    say("    privacy salt: state/privacy/salt carried into privacy_salt with it")
            _done(move, dry_run=dry_run)
            _say_left_behind(say, [*copied, _shown(move.source, move.home)])
    finally:
        if target is not None:
            target.close()


def _start(move: Move, say: Say, *, dry_run: bool) -> None:
    """Mark the move under way in the bucket before the first object goes there."""
    if dry_run or move.blobs is None:
        return
    if not mark_moving(move.blobs, move.now):
        say("bucket: state/moving is there: an earlier move stopped half-way; taking it up")


def _done(move: Move, *, dry_run: bool) -> None:
    """The ledger is in (or stays): processes on the new settings may start now."""
    if not dry_run and move.blobs is not None:
        clear_moving(move.blobs)


def _open_target(at: PostgresAt, *, dry_run: bool) -> sqlite3.Connection | None:
    """The PostgreSQL ledger; a real move applies the migrations there (a dry run never)."""
    return read_only(at) if dry_run else connect(at)


def _folders(move: Move, committed: set[str], say: Say, *, dry_run: bool) -> list[str]:
    """Survey the folders, and (for real) copy them and put the marks of what marks publish.

    Returns the folders that held files (copied, never deleted: the VM keeps its copies).
    """
    if move.blobs is None:
        return []
    published = marks.published_folders(move.home, committed)
    settled = {p.path.relative_to(move.home).as_posix() + "/" for p in published if p.staged}
    areas = folders.survey(move.home)
    for area in areas:
        if not dry_run:
            folders.copy_area(move.home, area, move.blobs)
        say(f"folder {area.line(dry_run=dry_run)}")
        for name in (n for n in area.hidden if n not in settled):
            say(f"    left on this disk (a temp, or staged by a run): {name}")
    if folders.STAY_ON_DISK:
        say(f"    {' and '.join(f + '/' for f in folders.STAY_ON_DISK)} stay on this disk")
    for folder in (p for p in published if p.staged):
        say(f"    staged by a committed run, published as {folder.key}")
    kinds = Counter(p.kind for p in published)
    if dry_run:
        say(f"marks: {_kinds(kinds)} to mark as published")
        return []
    marked, already = marks.put_marks(move.home, published, move.blobs)
    say(f"marks: {_kinds(kinds)}: {marked:,} marked as published now, {already:,} marked before")
    return [f"{a.area}/" for a in areas if a.files]


def _shown(path: Path, home: Path) -> str:
    """`path` as the operator finds it: home-relative when under the home."""
    return path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def _say_left_behind(say: Say, copies: list[str]) -> None:
    """Name the VM's copies of what moved: personal data nothing on the new settings reaches.

    The move deletes nothing (the VM's home is the truth until the move is done); purge and
    forget on the new settings work on the bucket and PostgreSQL only, so the operator must
    delete these copies, once the workers run.
    """
    if not copies:
        return
    say(f"personal data left on this VM: the move copied and kept {', '.join(copies)}")
    say(
        "    they hold people (archive/orders/ and archive/parties/: the files the ERP got, "
        "refused and retaken bodies; state/spool/: order and party bodies; the customer and "
        "company feeds' files under archive/ and state/snapshots/; outbox/: files on their "
        "way), and purge and forget on the new settings never reach this disk"
    )
    say(
        "    delete them (or this VM's home) once the workers run on these settings; "
        "migrate-state deletes nothing"
    )


def _kinds(kinds: Counter[str]) -> str:
    return ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items())) or "nothing"


def _say_tables(say: Say, counts: dict[str, int], *, dry_run: bool) -> None:
    what = f"{len(counts)} tables, {sum(counts.values()):,} rows"
    say(f"ledger: would copy {what}" if dry_run else f"ledger: {what}, copied last")
    if dry_run:
        for table, rows in counts.items():
            say(f"    {table:<24} {rows:>9,} rows")


def _say_copies(say: Say, copies: list[TableCopy]) -> None:
    for copy in copies:
        say(f"    {copy.table:<24} {copy.rows:>9,} rows  checksum {copy.checksum}")

"""A feed's run, ERP -> Norce: the lock, complete files taken once, derived feeds, the outcome.

Master data and documents share everything here; what differs is the middle stage (`Ingest`):
master data diffs against the snapshot and delivers the delta, documents send each document
once. The caller passes it in (etl.to_norce.run picks it per feed), so this module never
imports a flow. Until a run commits, the inbox file, the remote file and the current snapshot
are untouched, so a run that dies anywhere before is re-run to the same result.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from etl.config.contracts import FeedContract
from etl.config.run_order import family_order
from etl.config.settings import BATCHED_FROM_BYTES
from etl.errors import (
    UNEXPECTED,
    FileRejected,
    NorceError,
    ParseError,
    Quarantined,
    SuspectFile,
    TransportError,
)
from etl.models import LINE, Validated
from etl.personal_data import mask_words, words_of
from etl.read.batched import batchable, validated_in_batches
from etl.read.mapping import has_cell, map_columns
from etl.read.validate import validate
from etl.runtime import Runtime
from etl.state.blobs import StorageError
from etl.state.ledger.base import Commit, ContentAlreadyCommitted, SnapshotMoved
from etl.state.locks import feed_lock
from etl.to_norce import records
from etl.to_norce.intake import Candidate, Fetched, download, ready_files, settle_remote
from etl.to_norce.parsed import SharedParse
from etl.transport.names import printable

log = logging.getLogger(__name__)

# A file the process died reading this many times (since it was last set aside) is
# quarantined: once may be bad luck (the machine was short of memory), twice is the file.
QUARANTINE_AFTER_DEATHS = 2

# What a file's run does once it is downloaded and known to be new: master data diffs and
# delivers; document feeds send their documents one by one.
Ingest = Callable[[Runtime, FeedContract, Fetched, str], records.FileOutcome]
# The middle stage a feed reading another feed's file (`from_feed`) runs in that file's run.
DerivedIngest = Callable[[FeedContract], Ingest]


@contextmanager
def opened_feed(rt: Runtime, contract: FeedContract) -> Iterator[records.FileOutcome | None]:
    """The feed's lock, with what a dead run left tidied; a `skipped` outcome when it is taken."""
    with feed_lock(rt.locks, contract.name) as taken:
        if not taken:
            log.info("%s: already running elsewhere, skipped", contract.name)
            yield records.FileOutcome(
                contract.name, "-", "skipped", message="feed is already running"
            )
            return
        for feed in (contract, *contract.derived):  # derived feeds run under this lock
            rt.ledger.interrupt_stale(feed.name, rt.stamp())
            rt.recover(feed.name)
        yield None


def take_files(
    rt: Runtime,
    contract: FeedContract,
    stop: threading.Event | None,
    ingest: Ingest,
    derived: DerivedIngest,
) -> list[records.FileOutcome]:
    """Every complete file of the feed, oldest name first, until one fails (call under the lock)."""
    store = rt.store(contract.source.store)
    try:
        candidates = ready_files(store, contract.source, rt.clock().timestamp(), rt.sleep)
    except TransportError as exc:
        log.error("%s: cannot list %s: %s", contract.name, contract.source.folder, exc)
        return [_failed_run(rt, contract.name, "-", str(exc))]
    outcomes: list[records.FileOutcome] = []
    for candidate in candidates:
        if stop is not None and stop.is_set():
            break
        if candidate.refused:
            done = [_set_aside(rt, contract.name, candidate)]
        else:
            done = process_file(rt, contract, candidate, ingest, derived)
        outcomes += done
        if done[-1].outcome in ("failed", "waiting"):
            break  # later exports must not overtake this one
    return outcomes


def _failed_run(
    rt: Runtime, feed: str, name: str, message: str, remote_path: str | None = None
) -> records.FileOutcome:
    """A failure before any content was read (list, connect, download): a failed run in `status`."""
    run_id = rt.new_run_id(feed, secrets.token_hex(4))
    kind = "fetch" if remote_path is None else "file"
    rt.ledger.start_run(run_id, feed, kind, rt.stamp(), remote_path, None)
    rt.ledger.fail_run(run_id, rt.stamp(), "failed", message)
    return records.FileOutcome(feed, name, "failed", run_id, message=message)


def _set_aside(rt: Runtime, feed: str, candidate: Candidate) -> records.FileOutcome:
    """A file whose name the product refuses: a rejected run saying why; it is never fetched."""
    remote = candidate.remote
    known = rt.ledger.known_listing(feed, remote.path, remote.size, remote.mtime)
    if known is not None:
        return records.FileOutcome(feed, remote.name, "skipped", message=f"already {known}")
    # The store will not touch such a name (a backslash may be a separator on the server).
    message = f"{candidate.refused}: set aside where it is; rename it on the server"
    log.error("%s: %s: %s", feed, printable(remote.name), message)
    run_id = rt.new_run_id(feed, secrets.token_hex(4))
    rt.ledger.start_run(run_id, feed, "file", rt.stamp(), remote.path, None)
    # Known by its listing only (state "refused"): never read, so no content hash to keep.
    listing = ("", remote.path, remote.size, remote.mtime)
    rt.ledger.commit(
        Commit(run_id, feed, "rejected", rt.stamp(), {}, [], None, message, listing, "refused")
    )
    return records.FileOutcome(feed, remote.name, "rejected", run_id, message=message)


def process_file(
    rt: Runtime,
    contract: FeedContract,
    candidate: Candidate,
    ingest: Ingest,
    derived: DerivedIngest,
) -> list[records.FileOutcome]:
    """Take one complete remote file through every stage; never raises for a bad file.

    The feeds that read the same file (`derived`) each run as their own run: before the
    file's own run, or after it when they need its rows in Norce first (a price needs its
    SKU). The file is released (moved on the server) only when every one of them is done.
    """
    feed, remote = contract.name, candidate.remote
    store = rt.store(contract.source.store)
    before, after = family_order(contract)
    known = rt.ledger.known_listing(feed, remote.path, remote.size, remote.mtime)
    if known is not None:
        # The file's own run is done; a feed that goes after it may not be (it failed).
        after = _unfinished(rt, contract, candidate, after)
        if not after:
            return [_tidy_known(rt, contract, candidate, known)]
    try:
        fetched = download(store, candidate, rt.inbox / feed)
    except TransportError as exc:
        log.error("%s: %s: %s", feed, printable(remote.name), exc)
        return [_failed_run(rt, feed, remote.name, str(exc), remote.path)]
    if fetched is None:
        message = "changed while it was downloaded: still being written, taken when complete"
        return [records.FileOutcome(feed, remote.name, "waiting", message=message)]
    # Every feed of the family reads the one parse of the file (see etl.to_norce.parsed).
    fetched.parses.expect(after if known is not None else [*before, contract, *after])
    if known is not None:
        return _followers(rt, contract, fetched, after, known, derived)
    deadly = rt.ledger.reading_deaths([feed, *(d.name for d in contract.derived)], fetched.sha)
    if len(deadly) >= QUARANTINE_AFTER_DEATHS:
        return [_quarantine(rt, contract, fetched, deadly)]
    outcomes = [o for d in before if (o := _derived_run(rt, d, fetched, derived)) is not None]
    failed = [o for o in outcomes if o.outcome == "failed"]
    if failed:
        # Whatever reads this file must be done with it before the file itself goes on.
        message = f"not processed: feed {failed[0].feed} failed on it ({failed[0].message})"
        log.error("%s: %s: %s", feed, remote.name, message)
        return [*outcomes, records.FileOutcome(feed, remote.name, "failed", message=message)]
    run_id = rt.new_run_id(feed, fetched.sha)
    rt.ledger.start_run(run_id, feed, "file", rt.stamp(), remote.path, fetched.sha)
    earlier = _same_content(rt, contract, fetched.sha)
    if earlier is not None:
        own = records.record_duplicate(rt, contract, fetched, run_id, earlier)
    else:
        own = run_started(rt, contract, fetched, run_id, ingest)
    if not after or own.outcome in ("failed", "skipped"):
        return [*outcomes, own]
    settled = "rejected" if own.outcome == "rejected" else "committed"
    return [*outcomes, own, *_followers(rt, contract, fetched, after, settled, derived)]


def _quarantine(
    rt: Runtime, contract: FeedContract, fetched: Fetched, deadly: list[str]
) -> records.FileOutcome:
    """A file the process died reading, again and again: rejected, so the feed goes on."""
    run_id = rt.new_run_id(contract.name, fetched.sha)
    rt.ledger.start_run(run_id, contract.name, "file", rt.stamp(), fetched.remote.path, fetched.sha)
    exc = Quarantined(
        f"quarantined: the process died {len(deadly)} times while reading this file (runs "
        f"{', '.join(deadly)}; out of memory, or a crash in a reader). Fix the export or "
        "raise the contract's [format] limits, then drop the file again"
    )
    return records.record_rejection(rt, contract, fetched, run_id, exc)


def _unfinished(
    rt: Runtime, contract: FeedContract, candidate: Candidate, after: list[FeedContract]
) -> list[FeedContract]:
    """The feeds going after `contract` that have neither committed nor rejected this file."""
    remote = candidate.remote
    sha = rt.ledger.listing_sha(contract.name, remote.path, remote.size, remote.mtime)
    if sha is None:
        return after
    return [d for d in after if rt.ledger.finished_run(d.name, sha) is None]


def _tidy_known(
    rt: Runtime, contract: FeedContract, candidate: Candidate, known: str
) -> records.FileOutcome:
    """A file every feed is done with, still on the server: move it on now (after a crash).

    A move that fails is a warning, not a failed run: the file's content is committed, so
    later files do not wait for it; the next pass tries the move again.
    """
    feed, remote = contract.name, candidate.remote
    (rt.inbox / feed / remote.name).unlink(missing_ok=True)
    message = f"already {known}"
    try:
        settle_remote(rt.store(contract.source.store), contract.source, candidate, known)
    except TransportError as exc:
        log.warning(
            "%s: %s: %s, but it cannot be moved yet: %s", feed, printable(remote.name), message, exc
        )
        message += f"; not moved on the server yet ({exc})"
    return records.FileOutcome(feed, remote.name, "skipped", message=message)


def _followers(
    rt: Runtime,
    contract: FeedContract,
    fetched: Fetched,
    after: list[FeedContract],
    outcome: str,
    derived: DerivedIngest,
) -> list[records.FileOutcome]:
    """Run the feeds that read the file after its own run; release the file once all are done."""
    done = [o for d in after if (o := _derived_run(rt, d, fetched, derived)) is not None]
    failed = [o for o in done if o.outcome == "failed"]
    if failed:
        # The file waits on the server: the next pass gives it to these feeds again.
        log.error(
            "%s: %s waits: feed %s failed on it", contract.name, fetched.remote.name, failed[0].feed
        )
        fetched.local.unlink(missing_ok=True)
        return done
    records.release_file(rt, contract, fetched, outcome)
    if done:
        return done
    # Each of them committed this content in an earlier run.
    word = "feed" if len(after) == 1 else "feeds"
    message = f"{word} {', '.join(d.name for d in after)} already committed this content"
    return [records.FileOutcome(contract.name, fetched.remote.name, "skipped", message=message)]


def _derived_run(
    rt: Runtime, contract: FeedContract, fetched: Fetched, derived: DerivedIngest
) -> records.FileOutcome | None:
    """A feed reading another feed's file; None when it has committed this content before."""
    if rt.ledger.committed_run(contract.name, fetched.sha) is not None:
        return None  # the file's own run died after this one committed: not again
    ingest = derived(contract)  # e.g. a document feed reading buyer numbers in master data
    run_id = rt.new_run_id(contract.name, fetched.sha)
    rt.ledger.start_run(run_id, contract.name, "file", rt.stamp(), fetched.remote.path, fetched.sha)
    return run_started(rt, contract, fetched, run_id, ingest)


def run_started(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str, ingest: Ingest
) -> records.FileOutcome:
    """One started run of a downloaded file: its outcome, whatever goes wrong."""
    feed, name = contract.name, fetched.remote.name
    try:
        return ingest(rt, contract, fetched, run_id)
    except FileRejected as exc:
        return records.record_rejection(rt, contract, fetched, run_id, exc)
    except ContentAlreadyCommitted:
        return _taken_by_another(rt, contract, fetched, run_id)
    except SnapshotMoved as exc:
        if rt.ledger.latest_committed_sha(feed) == fetched.sha:
            # What moved the snapshot was this very file, committed by another machine.
            return _taken_by_another(rt, contract, fetched, run_id)
        # Expected with workers on several machines: one line, the file waits for the next
        # pass, which diffs it against the snapshot that moved.
        log.warning("%s: %s: %s", feed, name, exc)
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", str(exc))
        return records.FileOutcome(feed, name, "failed", run_id, message=str(exc))
    except (NorceError, TransportError, StorageError) as exc:
        # An outage (Norce, the ERP's server, object storage): one line, the file waits.
        message = _without_people(rt, contract, str(exc))
        log.error("%s: %s: run %s failed, nothing committed: %s", feed, name, run_id, message)
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", message)
        return records.FileOutcome(feed, name, "failed", run_id, message=message)
    except UNEXPECTED as exc:  # a bug (or a Polars panic): keep it in this file's run
        log.exception("%s: %s: run %s failed unexpectedly, nothing committed", feed, name, run_id)
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", f"unexpected error: {exc!r}")
        return records.FileOutcome(
            feed, name, "failed", run_id, message=f"unexpected error: {exc!r}"
        )


def _taken_by_another(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str
) -> records.FileOutcome:
    """Two workers took the same file and the other committed first: not a failure.

    The run ends `duplicate` (its staged folder is dropped); the machine that committed the
    file moves it on the server and runs the feeds that read it after.
    """
    feed, name = contract.name, fetched.remote.name
    winner = rt.ledger.committed_run(feed, fetched.sha)
    message = (
        f"another machine committed this file first (run {winner}); this run committed nothing"
    )
    log.warning("%s: %s: %s", feed, name, message)
    rt.ledger.fail_run(run_id, rt.stamp(), "duplicate", message)
    fetched.local.unlink(missing_ok=True)
    return records.FileOutcome(feed, name, "skipped", run_id, message=message)


def _without_people(rt: Runtime, contract: FeedContract, message: str) -> str:
    """A failed run's message, for a feed about people, with their names masked.

    Norce's texts lose the values the call sent, and what looks personal by its shape, on the
    way here; but Norce may quote a person by name the call never carried (a change that sent
    only a phone number). A name is no pattern: the words of every person the feed's current
    snapshot knows are masked instead (its keys, the ERP's numbers, are left: they say which
    record). Read only when a run failed.
    """
    entity = contract.entity
    current = rt.ledger.current_snapshot(contract.name)
    if entity.personal is None or current is None:
        return message
    try:
        known = rt.snapshots.read(current[0], entity.fields())
    except StorageError as exc:
        # Without the snapshot the names cannot be masked: Norce's text is withheld instead.
        return f"the error's text is withheld (names in it could not be masked: {exc})"
    return mask_words(message, words_of(known.drop(contract.key_fields, strict=False)))


def _same_content(rt: Runtime, contract: FeedContract, sha: str) -> str | None:
    """The run that already committed this content, if the feed's dedupe rule says skip it.

    `any`: content committed at any time is never processed again (a re-delivered old
    export must not roll the data back). `latest`: only the content the current snapshot
    came from is skipped, for feeds whose files legitimately repeat (A, B, then A again).
    A rejected file's content is always looked at again: the contract may have been fixed.
    """
    earlier = rt.ledger.committed_run(contract.name, sha)
    if earlier is None or contract.source.dedupe == "any":
        return earlier
    return earlier if rt.ledger.latest_committed_sha(contract.name) == sha else None


def read_validated(
    rt: Runtime,
    contract: FeedContract,
    local: Path,
    run_id: str,
    parses: SharedParse | None = None,
) -> Validated:
    """`parse_and_validate` with the ledger told the run is reading: should the process die
    here (memory, a crash in a reader), the next start knows it was this file's doing.

    `parses`: the file's parse shared with the other feeds reading it in this run."""
    rt.ledger.begin_reading(run_id)
    rt.pause_while_reading()
    batched_from = rt.settings.batched_from_bytes
    validated = parse_and_validate(local, contract, rt.inbox / contract.name, parses, batched_from)
    rt.ledger.end_reading(run_id)  # not on a FileRejected: the run ends then, alive
    return validated


def parse_and_validate(
    local: Path,
    contract: FeedContract,
    scratch: Path,
    parses: SharedParse | None = None,
    batched_from: int = BATCHED_FROM_BYTES,
) -> Validated:
    """Read, map and validate one file (no state touched); FileRejected for a bad file.

    With `parses`, a file another feed of the run parsed already is not parsed again. A
    plain CSV file of `batched_from` bytes or more is read in batches (settings'
    `batched_from_bytes`)."""
    empty_rejected = contract.source.empty_file == "reject"
    if local.stat().st_size == 0:
        if empty_rejected:
            raise ParseError(f"{local.name}: the file is empty (0 bytes)")
        text = pl.DataFrame(
            schema={**{f: pl.String for f in contract.entity.fields()}, LINE: pl.Int64}
        )
        return validate(text, contract)
    parses = SharedParse() if parses is None else parses
    if parses.alone(contract) and batchable(local, contract, min_bytes=batched_from):
        batched = validated_in_batches(local, contract, scratch)
        if batched is not None:
            parses.read_apart(contract)
            return batched
    parsed = parses.read(local, contract, scratch)
    if not parsed.frame.height and not parsed.ragged.height and empty_rejected:
        what = (
            f"no <{contract.format.record}> records" if contract.format.type == "xml" else "no rows"
        )
        raise ParseError(f'{local.name}: the file has {what} (source.empty_file = "reject")')
    mapped = map_columns(parsed, contract)
    if contract.source.from_feed is not None:
        # Another feed's file: a row without this entity's key is not about this entity
        # (a private customer's row has no company columns). A key cell its conversion
        # refused is still a key cell: that row is rejected, and holds removals.
        keyed = pl.any_horizontal(has_cell(k, mapped.columns) for k in contract.key_fields)
        mapped = mapped.filter(keyed)
    return validate(mapped, contract, parsed.parts, parsed.ragged)


def refuse_if_suspect(validated: Validated, contract: FeedContract, name: str) -> None:
    """SuspectFile when more rows were rejected than `checks.max_rejected_ratio` allows."""
    limit = contract.checks.max_rejected_ratio
    rows, bad = validated.rows_read, validated.rejected_rows
    if limit is None or not rows or bad / rows <= limit:
        return
    raise SuspectFile(
        f"{name}: {bad} of {rows} rows ({bad / rows:.1%}) were rejected, more than "
        f"checks.max_rejected_ratio ({limit:.0%}): nothing of the file is applied; "
        "fix the rows (see the report) and send the file again",
        validated.rejections,
        rows_read=rows,
        parts=validated.parts,
    )

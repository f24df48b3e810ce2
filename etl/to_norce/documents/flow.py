"""Documents, ERP -> Norce: fetch, parse, map, validate, group, send each once, commit.

Files are fetched, deduplicated, archived and reported exactly as master data does
(etl.to_norce.feed and etl.to_norce.records); what differs is the middle stage: no
diff, no snapshot. The rows are grouped into documents and each goes to Norce by its own
call, recorded in the document book before and after it (etl.to_norce.documents.book), so the
documents of a file that dies halfway are neither lost nor sent twice when it is run again.

Each run first takes up the feed's open documents, those waiting for their order and
those in doubt, then reads new files. A file is committed once each of its documents has
an answer (sent, waiting, refused, conflict); if Norce gives no clear answer the run
fails, the file stays where it is and the next run goes on from the book.
"""

from __future__ import annotations

import functools
import logging
import threading

from etl.config.contracts import FeedContract
from etl.errors import ConfigError, NorceError, NorceUnavailable, TransportError
from etl.models import Validated
from etl.read.reports import Report, write_reports
from etl.runtime import Runtime
from etl.state.areas import kept_in_ledger
from etl.state.ledger.base import Commit
from etl.state.manifest import Manifest
from etl.to_norce import records
from etl.to_norce.documents import summary
from etl.to_norce.documents.channel import Channel
from etl.to_norce.documents.grouping import all_rejections, document_entity, group
from etl.to_norce.documents.sender import Result, Sender
from etl.to_norce.feed import (
    DerivedIngest,
    opened_feed,
    read_validated,
    refuse_if_suspect,
    take_files,
)
from etl.to_norce.intake import Fetched
from etl.to_norce.replay import replay_note, take_replays

log = logging.getLogger(__name__)
OPEN = "(open documents)"  # the name a run over the book's open documents goes by


def run_document_feed(
    rt: Runtime, contract: FeedContract, stop: threading.Event | None, derived: DerivedIngest
) -> list[records.FileOutcome]:
    """One pass: the feed's open documents, then every complete file, oldest name first."""
    with opened_feed(rt, contract) as busy:
        if busy is not None:
            return [busy]
        with Channel.open(rt) as channel:
            outcomes = _resume(rt, contract, channel)
            if any(o.outcome == "failed" for o in outcomes):
                return outcomes  # later documents must not overtake an open one
            ingest = functools.partial(_ingest, channel=channel)
            # Files an operator asked to have taken again go first: they are older.
            outcomes += take_replays(rt, contract, ingest, derived)
            if any(o.outcome == "failed" for o in outcomes):
                return outcomes
            return [*outcomes, *take_files(rt, contract, stop, ingest, derived)]


def ingest_derived(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str
) -> records.FileOutcome:
    """A document feed reading another feed's file (`from_feed`), in that feed's run.

    Its open documents are taken up first, as a run of its own would; while one is still
    in doubt, the file waits rather than letting later documents overtake it.
    """
    with Channel.open(rt) as channel:
        stuck = [o for o in _resume(rt, contract, channel) if o.outcome == "failed"]
        if stuck:
            raise NorceUnavailable(f"open documents not taken up yet: {stuck[0].message}")
        return _ingest(rt, contract, fetched, run_id, channel=channel)


def _sender(rt: Runtime, contract: FeedContract, channel: Channel, run_id: str) -> Sender:
    entity = document_entity(contract)
    options = entity.parse_options(contract.options)
    return Sender(
        feed=contract.name,
        entity=entity,
        options=options,
        book=channel.book,
        service=channel.service_for(entity, options),
        lookup=channel.lookup if channel.can_look_up else None,
        received=channel.received,
        run_id=run_id,
        stamp=rt.stamp,
    )


def _ingest(
    rt: Runtime, contract: FeedContract, fetched: Fetched, run_id: str, *, channel: Channel
) -> records.FileOutcome:
    """Send one new file's documents, then archive, report and commit it."""
    feed, local = contract.name, fetched.local
    timer = records.Timer()
    validated = read_validated(rt, contract, local, run_id)
    refuse_if_suspect(validated, contract, local.name)
    grouped = group(validated, contract)
    timer.lap("parse_validate")
    sender = _sender(rt, contract, channel, run_id)
    # A NorceError stops here: what was sent is in the book, the file is not committed.
    results = [sender.handle(document) for document in grouped.documents]
    timer.lap("deliver")
    log.info("%s: %s: %d documents answered; committing", feed, local.name, len(results))
    rt.pause_before_commit()
    rejections = all_rejections(validated, grouped.rejections, summary.notes(results))
    bad_lines = int(rejections["line"].n_unique()) if rejections.height else 0
    counts = {
        "rows": validated.rows_read,
        "accepted": validated.rows_read - bad_lines,
        "rejected": bad_lines,
        "documents": len(results) + grouped.held,
        "documents_rejected": grouped.held,
        **summary.counts(results),
    }
    staged = rt.archive.stage(feed, rt.day(), run_id)
    rt.archive.keep_input(local, staged)
    report = Validated(
        validated.valid, rejections, validated.rejected_keys, validated.rows_read, validated.parts
    )
    reports = records.write_rejections(report, contract, fetched, staged, counts)
    timer.lap("stage")
    headline = summary.headline(counts)
    manifest = _manifest(rt, contract, run_id, counts, reports, results, headline)
    manifest = manifest.updated(input=fetched.describe(), timings_seconds=timer.laps)
    replay_of = fetched.candidate.replay_of
    if replay_of:
        manifest = manifest.updated(replay_of=replay_of)
    note = replay_note(rt, run_id, headline or None)
    rt.archive.write_manifest(staged, manifest)
    archive_dir = kept_in_ledger(rt.settings.home, rt.archive.final(staged))
    rt.ledger.commit(
        Commit(run_id, feed, "committed", rt.stamp(), counts, [], archive_dir, note,
               file=fetched.ledger_file())
    )  # fmt: skip
    records.after_commit(rt, contract, fetched, staged, "committed")
    log.info("%s: %s: committed run %s: %s", feed, local.name, run_id, _said(counts))
    return records.FileOutcome(feed, local.name, "committed", run_id, counts, note or "")


def _resume(rt: Runtime, contract: FeedContract, channel: Channel) -> list[records.FileOutcome]:
    """Take up the feed's waiting and in-doubt documents; a run of its own when any moved."""
    feed = contract.name
    open_rows = channel.book.open_documents(feed)
    if not open_rows:
        return []
    run_id = rt.new_run_id(feed, "resume00")
    sender = _sender(rt, contract, channel, run_id)
    try:
        results = [sender.resume(row) for row in open_rows]
    except Exception as exc:  # NorceError, or a bug: either way the next run goes on from the book
        expected = isinstance(exc, NorceError | TransportError | ConfigError)
        message = str(exc) if expected else f"unexpected error: {exc!r}"
        log.log(logging.ERROR, "%s: open documents not taken up yet: %s", feed, message,
                exc_info=not expected)  # fmt: skip
        rt.ledger.start_run(run_id, feed, "documents", rt.stamp(), None, None)
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", message)
        return [records.FileOutcome(feed, OPEN, "failed", run_id, message=message)]
    counts = summary.counts(results)
    if counts.get("waiting") == len(results):
        log.info("%s: %d documents still wait for their order", feed, len(results))
        return [records.FileOutcome(feed, OPEN, "waiting", counts=counts)]
    rt.ledger.start_run(run_id, feed, "documents", rt.stamp(), None, None)
    staged = rt.archive.stage(feed, rt.day(), run_id)
    notes = summary.notes(results)
    reports: list[str] = []
    if notes.height:
        head = {"Feed": feed, "Run": run_id, "Open documents taken up": len(results)}
        report = Report(head, notes, {}, contract.key_fields)
        reports = [p.name for p in write_reports(report, staged, f"{run_id}.rejected")]
    headline = summary.headline(counts)
    rt.archive.write_manifest(
        staged, _manifest(rt, contract, run_id, counts, reports, results, headline)
    )
    archive_dir = kept_in_ledger(rt.settings.home, rt.archive.final(staged))
    rt.ledger.commit(Commit(run_id, feed, "committed", rt.stamp(), counts, [], archive_dir,
                            headline or None))  # fmt: skip
    rt.archive.publish(staged)
    log.info("%s: open documents taken up in run %s: %s", feed, run_id, _said(counts))
    return [records.FileOutcome(feed, OPEN, "committed", run_id, counts, headline)]


def _manifest(
    rt: Runtime,
    contract: FeedContract,
    run_id: str,
    counts: dict[str, int],
    reports: list[str],
    results: list[Result],
    headline: str,
) -> Manifest:
    return Manifest.new(
        run_id=run_id,
        feed=contract.name,
        entity=contract.entity.name,
        outcome="committed",
        finished_at=rt.stamp(),
        contract=str(contract.path),
        counts=counts,
        attention=headline or None,
        reports=reports,
        delivery={"mode": rt.settings.norce.mode},
        documents=summary.listing(results),
    )


def _said(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v)

"""`run.py replay RUN`: a run's archived file taken again, through today's contract, as a new run.

A file is known by its content hash once a run committed or rejected it, so the same bytes
dropped again are a `duplicate`, and a file refused whole was moved to rejected/ on the
server. Replay takes the archived copy instead, on purpose: a run of kind `replay` that
skips the content dedupe and nothing else. Master data diffs it against the feed's current
snapshot, so only what differs is sent, and removals still pass the guard; documents Norce
already has are known to the document book and never sent twice.

The queue is the ledger's `replays` table, taken by the feed's next run (under its lock,
before new files: they are newer). A replay is done when its run committed or rejected, so
one that failed or died halfway is taken again. The operator's reason (`--why`) is kept
with it and written into the run's message, which `status` shows.
"""

from __future__ import annotations

import logging
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.errors import EtlError
from etl.read.reports import file_sha256
from etl.runtime import Runtime
from etl.state.areas import from_ledger, kept_in_ledger
from etl.state.atomic import atomic_file
from etl.state.blobs import StorageError
from etl.state.ledger.base import FeedLedger, Replay, RunRow
from etl.state.manifest import MANIFEST, Manifest
from etl.to_norce import records
from etl.to_norce.feed import DerivedIngest, Ingest, run_started
from etl.to_norce.intake import Candidate, Fetched
from etl.transport.base import RemoteFile

log = logging.getLogger(__name__)

# A run that took a file and kept it in its archive folder.
_FILE_KINDS = ("file", "replay")
_SETTLED = ("committed", "rejected")
# The prefix a replay's copy of a file carries (`_inbox_name`); a replay of a replay drops it.
_REPLAYED = re.compile(r"^replay-\d{8}T\d{9}-")


@dataclass(frozen=True)
class Archived:
    """The archived file a replay takes: the run that archived it, its feed, the copy."""

    run: RunRow
    contract: FeedContract
    copy: Path
    sha256: str


@dataclass(frozen=True)
class Preview:
    """What a replay would do (`--dry-run`): a headline, then the first rows of each part."""

    headline: str
    sections: list[tuple[str, list[str]]]


def find_archived(
    rt: Runtime, contracts: dict[str, FeedContract], target: str, feed: str | None = None
) -> Archived:
    """The archived file a run id names (or, with `feed`, a file name or sha256 start)."""
    if feed is not None:
        contract = _contract(contracts, feed)
        run = _named(rt.ledger, feed, target)
    else:
        asked = rt.ledger.run(target)
        if asked is None:
            raise EtlError(
                f"no run {target!r}: give a run id as `run.py status` shows it "
                "(or `run.py replay FEED FILE` with a file name or the start of its sha256)"
            )
        contract = _contract(contracts, asked.feed)
        run = _file_run(rt, asked)
    copy, sha = _archived_copy(rt, run)
    return Archived(run, contract, copy, sha)


def queue_replay(rt: Runtime, archived: Archived, why: str = "") -> tuple[Replay, bool]:
    """Ask for the archived file to be taken by its feed's next run; (the replay, new?)."""
    replay = Replay(
        archived.contract.name,
        archived.run.run_id,
        archived.sha256,
        kept_in_ledger(rt.settings.home, archived.copy),
        rt.stamp(),
        why,
    )
    return replay, rt.ledger.ask_replay(replay)


def replay_note(rt: Runtime, run_id: str, note: str | None) -> str | None:
    """A run's message: `note`, after which run it replays and why, when it is a replay."""
    replay = rt.ledger.replay_taken_by(run_id)
    if replay is None:
        return note
    said = f"replay of run {replay.of_run}" + (f" ({replay.why})" if replay.why else "")
    return "; ".join(filter(None, [said, note]))


def _contract(contracts: dict[str, FeedContract], feed: str) -> FeedContract:
    contract = contracts.get(feed)
    if contract is None:
        raise EtlError(f"no feed {feed!r}; known feeds: {', '.join(contracts)}")
    return contract


def _named(ledger: FeedLedger, feed: str, target: str) -> RunRow:
    """The newest archived run of the feed that `target` names (id, file name, sha start)."""
    for run in ledger.archived_runs(feed):
        named = posixpath.basename(run.remote_path or "") == target
        hashed = len(target) >= 8 and (run.sha256 or "").startswith(target.lower())
        if target in (run.run_id, run.remote_path) or named or hashed:
            return run
    raise EtlError(
        f"{feed}: no archived file is known as {target!r} (give a run id, the file's name, "
        "or the start of its sha256, as `run.py status` and the manifests show them)"
    )


def _file_run(rt: Runtime, run: RunRow) -> RunRow:
    """The run whose archived file `run` stands for; an EtlError saying why when none."""
    if run.kind in _FILE_KINDS and run.outcome in _SETTLED and run.archive_dir:
        return run
    if run.outcome == "duplicate" and run.sha256:
        # Its content is the file an earlier run committed: that run's copy is the same bytes.
        earlier = rt.ledger.committed_run(run.feed, run.sha256)
        found = rt.ledger.run(earlier) if earlier else None
        if found is not None and found.archive_dir:
            return found
    raise EtlError(f"{run.feed}: run {run.run_id} {_why_no_file(rt, run)}")


def _why_no_file(rt: Runtime, run: RunRow) -> str:
    """Why a run has no archived file to replay, and what to do instead."""
    if run.kind == "approve":
        held = _manifest(rt, run).approves or "the hold's run"
        return (
            f"approved the removals held by run {held}; it took no file: "
            f"replay that run's file with `run.py replay {held}`"
        )
    if run.kind == "documents":
        return "took up the feed's open documents; it took no file"
    if run.kind == "fetch":
        return "could not list the feed's folder; it took no file"
    if run.outcome in ("failed", "interrupted", "running"):
        return (
            f"is {run.outcome}: its file was not archived; it stays where it was "
            "and the feed's next run takes it again"
        )
    return f"({run.kind}, {run.outcome}) took no file that was archived; nothing to replay"


def _manifest(rt: Runtime, run: RunRow) -> Manifest:
    """The run's manifest; an empty one when its archive folder is not there (any more)."""
    folder = from_ledger(rt.settings.home, run.archive_dir) if run.archive_dir else None
    if folder is None or MANIFEST not in rt.archive.files(folder):
        return Manifest()
    return rt.archive.read_manifest(folder)


def _archived_copy(rt: Runtime, run: RunRow) -> tuple[Path, str]:
    """The archived copy of the file the run took, and its sha256; an EtlError when gone."""
    # The run's folder in the archive, on the disk or in object storage alike.
    folder = from_ledger(rt.settings.home, run.archive_dir or "")
    manifest = _manifest(rt, run)
    facts = manifest.input
    if facts is not None:
        found = _kept_copy(rt, folder, facts.name, facts.sha256)
        if found is not None:
            return found
    elif manifest.run_id is not None and manifest.purged_at is None:
        raise EtlError(f"{run.feed}: run {run.run_id} took no file; nothing to replay")
    name = facts.name if facts else "its file"
    how = (
        f"purged with its run folder by retention on {manifest.purged_at}"
        if manifest.purged_at
        else "no longer in its run folder"
    )
    raise EtlError(
        f"{run.feed}: the archived copy of {name} (run {run.run_id}) is gone, {how}: "
        "drop the file in the feed's folder again"
    )


def _kept_copy(rt: Runtime, folder: Path, name: str, sha256: str | None) -> tuple[Path, str] | None:
    """The run's archived copy of `name` and its sha256; None when the archive no longer has it."""
    if name not in rt.archive.files(folder):
        return None
    if sha256:
        return folder / name, sha256
    with rt.archive.opened(folder, name) as local:
        return (folder / name, file_sha256(local)) if local is not None else None


def take_replays(
    rt: Runtime, contract: FeedContract, ingest: Ingest, derived: DerivedIngest
) -> list[records.FileOutcome]:
    """The queued replays of the feed and of the feeds reading its files, oldest first,
    until one fails (call under the feed lock)."""
    outcomes: list[records.FileOutcome] = []
    for feed in (contract, *contract.derived):
        stage = ingest if feed is contract else derived(feed)
        for replay in rt.ledger.pending_replays(feed.name):
            outcome = _take(rt, feed, replay, stage)
            outcomes.append(outcome)
            if outcome.outcome == "failed":
                return outcomes  # later files must not overtake it
    return outcomes


def _take(
    rt: Runtime, contract: FeedContract, replay: Replay, ingest: Ingest
) -> records.FileOutcome:
    """One replay: the archived copy into the inbox, then an ordinary run of it."""
    earlier = rt.ledger.run(replay.of_run)
    source = from_ledger(rt.settings.home, replay.input)
    run_id = rt.new_run_id(contract.name, replay.sha256)
    target = rt.inbox / contract.name / _inbox_name(source.name, run_id)
    local, trouble = _copy_in(rt, source, target)
    remote = RemoteFile(earlier.remote_path if earlier and earlier.remote_path else source.name,
                        local.stat().st_size if local is not None else 0, 0.0)  # fmt: skip
    rt.ledger.start_run(run_id, contract.name, "replay", rt.stamp(), remote.path, replay.sha256)
    rt.ledger.start_replay(replay, run_id)
    if local is None or file_sha256(local) != replay.sha256:
        if local is not None:
            local.unlink(missing_ok=True)
        gone = trouble or "is gone or changed"
        message = f"the archived copy {source} {gone}; nothing taken"
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", message)
        return records.FileOutcome(contract.name, source.name, "failed", run_id, message=message)
    log.info("%s: %s: run %s replays run %s", contract.name, source.name, run_id, replay.of_run)
    fetched = Fetched(Candidate(remote, replay_of=replay.of_run), local, replay.sha256)
    outcome = run_started(rt, contract, fetched, run_id, ingest)
    if outcome.outcome == "rejected":
        # The rejection's record says what was wrong; the run's message also says what it was.
        rt.ledger.set_message(run_id, replay_note(rt, run_id, outcome.message) or "")
    if outcome.outcome != "failed":
        # The copy is in the run's archive folder now; a file family's release, which
        # usually drops it, waits for a remote file a replay does not have.
        local.unlink(missing_ok=True)
    return outcome


def _inbox_name(name: str, run_id: str) -> str:
    """The replay's own name for the file: its batches, reports and archived copy must not
    take the place of the earlier run's, which has the same name and content."""
    stamp = run_id.split("-", 1)[0]
    return f"replay-{stamp}-{_REPLAYED.sub('', name)}"


def _copy_in(rt: Runtime, source: Path, target: Path) -> tuple[Path | None, str | None]:
    """The archived file copied from its run in the archive (on the disk or in object
    storage) into the inbox, temp name then rename; (None, why) when it cannot be had."""
    try:
        with rt.archive.opened(source.parent, source.name) as archived:
            if archived is None:
                return None, None
            with archived.open("rb") as original, atomic_file(target) as copy:
                shutil.copyfileobj(original, copy)
    except StorageError as exc:
        # Failed, not done: a failed replay is taken again by the feed's next run.
        return None, f"could not be fetched from object storage ({exc})"
    return target, None

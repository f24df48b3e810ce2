"""`run.py replay`: an archived document file taken again, after its contract was fixed.

A file is known by its content hash once a run committed or rejected it, so the same bytes
dropped again are a `duplicate`, and a file refused whole was moved to rejected/ on the
server. Replay asks for the archived copy to be taken by the feed's next run (or at once):
a run of kind `replay` that names the run it replays in the ledger and its manifest, and
that skips the dedupe, never the document book. Documents Norce already has are known
there by number and hash: they are `already_sent`, never sent twice; one whose content the
fixed contract reads differently is a `conflict`, not a second capture.

The queue is the ledger's `replays` table; a replay is done when its run committed or
rejected, so one that failed or died halfway is taken again by the next run. Master-data
feeds are not replayed: taking an old full export again would roll the snapshot back.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from pathlib import Path

from etl.config.contracts import FeedContract
from etl.entities import DocumentEntity
from etl.errors import EtlError
from etl.read.reports import file_sha256
from etl.runtime import Runtime
from etl.state.areas import from_ledger, kept_in_ledger
from etl.state.atomic import atomic_file
from etl.state.ledger.base import FeedLedger, Replay, RunRow
from etl.to_norce import records
from etl.to_norce.feed import Ingest, run_started
from etl.to_norce.intake import Candidate, Fetched
from etl.transport.base import RemoteFile

log = logging.getLogger(__name__)


def queue_replay(rt: Runtime, contract: FeedContract, target: str) -> tuple[RunRow, Replay, bool]:
    """Ask for the archived file `target` names to be taken again; (its run, the replay, new?).

    `target`: a run id, the file's name (its newest run), or the start of its sha256.
    """
    if not isinstance(contract.entity, DocumentEntity):
        raise EtlError(
            f"{contract.name}: replay takes document feeds only; a master-data file taken "
            "again could roll the snapshot back to an older export: drop a new export instead"
        )
    earlier = _find(rt.ledger, contract.name, target)
    folder = from_ledger(rt.settings.home, earlier.archive_dir or "")
    facts = rt.archive.read_manifest(folder).input
    if facts is None:
        raise EtlError(f"{contract.name}: run {earlier.run_id} took no file; nothing to replay")
    copy = folder / facts.name
    if not copy.is_file():
        raise EtlError(
            f"{contract.name}: the archived copy of {facts.name} (run {earlier.run_id}) is "
            "gone, purged with its run folder: drop the file in the feed's folder again"
        )
    replay = Replay(
        contract.name,
        earlier.run_id,
        facts.sha256,
        kept_in_ledger(rt.settings.home, copy),
        rt.stamp(),
    )
    return earlier, replay, rt.ledger.ask_replay(replay)


def _find(ledger: FeedLedger, feed: str, target: str) -> RunRow:
    """The newest archived run of the feed that `target` names."""
    for run in ledger.archived_runs(feed):
        named = posixpath.basename(run.remote_path or "") == target
        hashed = len(target) >= 8 and (run.sha256 or "").startswith(target.lower())
        if target in (run.run_id, run.remote_path) or named or hashed:
            return run
    raise EtlError(
        f"{feed}: no archived file is known as {target!r} (give a run id, the file's name, "
        "or the start of its sha256, as `run.py status` and the manifests show them)"
    )


def take_replays(rt: Runtime, contract: FeedContract, ingest: Ingest) -> list[records.FileOutcome]:
    """The feed's queued replays, oldest first, until one fails (call under the feed lock)."""
    outcomes: list[records.FileOutcome] = []
    for replay in rt.ledger.pending_replays(contract.name):
        outcome = _take(rt, contract, replay, ingest)
        outcomes.append(outcome)
        if outcome.outcome == "failed":
            break  # later files must not overtake it
    return outcomes


def _take(
    rt: Runtime, contract: FeedContract, replay: Replay, ingest: Ingest
) -> records.FileOutcome:
    """One replay: the archived copy into the inbox, then an ordinary run of it."""
    earlier = rt.ledger.run(replay.of_run)
    source = from_ledger(rt.settings.home, replay.input)
    remote = RemoteFile(earlier.remote_path if earlier and earlier.remote_path else source.name,
                        source.stat().st_size if source.is_file() else 0, 0.0)  # fmt: skip
    run_id = rt.new_run_id(contract.name, replay.sha256)
    rt.ledger.start_run(run_id, contract.name, "replay", rt.stamp(), remote.path, replay.sha256)
    rt.ledger.start_replay(replay, run_id)
    local = _copy_in(source, rt.inbox / contract.name)
    if local is None or file_sha256(local) != replay.sha256:
        message = f"the archived copy {source} is gone or changed; nothing taken"
        rt.ledger.fail_run(run_id, rt.stamp(), "failed", message)
        return records.FileOutcome(contract.name, source.name, "failed", run_id, message=message)
    log.info("%s: %s: run %s replays run %s", contract.name, source.name, run_id, replay.of_run)
    fetched = Fetched(Candidate(remote, replay_of=replay.of_run), local, replay.sha256)
    return run_started(rt, contract, fetched, run_id, ingest)


def _copy_in(source: Path, folder: Path) -> Path | None:
    """The archived file copied into the inbox (temp name, then rename); None when gone."""
    if not source.is_file():
        return None
    target = folder / source.name
    with source.open("rb") as original, atomic_file(target) as copy:
        shutil.copyfileobj(original, copy)
    return target

"""Runs committed in the ledger whose archive is not in the bucket yet: `status` names them.

With `[storage] backend = "s3"` a run's folder is uploaded after its commit. When the upload
fails, the folder stays staged on the disk of the machine that committed it until that machine
publishes it (at its next job or alerts tick, etl.alert_jobs.publish_staged); meanwhile
`trace`, `replay`, `purge` and `forget` on other machines do not see it. The ledger says the
run committed and where; the bucket's listing says whether it is there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from etl.runtime import Runtime
from etl.state.areas import from_ledger
from etl.state.blob_archive import BlobArchive
from etl.state.blobs import StorageError
from etl.state.ledger.base import RunRow
from etl.state.staged import PUBLISHED

log = logging.getLogger(__name__)


def unpublished_runs(rt: Runtime, runs: Sequence[RunRow]) -> list[RunRow]:
    """Those of `runs` that committed (or were rejected) and are not in the bucket."""
    archive = rt.archive
    if not isinstance(archive, BlobArchive):
        return []  # on the disk: a run is in place once it committed
    folders = {
        r.run_id: from_ledger(rt.settings.home, r.archive_dir)
        for r in runs
        if r.outcome in PUBLISHED and r.archive_dir
    }
    # A run kept elsewhere (an archive moved since) is none of this archive's to look for.
    folders = {run: f for run, f in folders.items() if archive.root in f.parents}
    done = [r for r in runs if r.run_id in folders]
    try:
        published = archive.published(folders.values())
    except StorageError as exc:
        log.warning("status: which runs are in the bucket is not known: %s", exc)
        return []
    return [r for r in done if folders[r.run_id] not in published]


def render_unpublished(runs: Sequence[RunRow]) -> str:
    """The runs, one a line, with what publishes them."""
    lines = [
        "Committed, not yet in the bucket (staged on the disk of the machine that committed "
        "them, which uploads them at its next job or alerts tick):"
    ]
    lines += [f"  {r.feed}  {r.run_id}  {r.archive_dir}" for r in runs]
    return "\n".join(lines)

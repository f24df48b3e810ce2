"""Object-storage spools, copied to a private folder of this machine for `forget` and put back.

`run.py forget` finds and masks a person in files (etl.privacy): the spooled bodies among
them. When the spools are on object storage, every body is copied for the time of the
erasure into `state/privacy/spool-copies/`, owner-only, laid out as a home
(`state/spool/<area>/<name>` under it, so the erasure names its places as on a disk); each
copy the erasure changed is then put back over its object, whole, and the folder is removed.
An erasure that fails puts nothing back (it is run again).

The copies are never in the spool folder itself: a run or the receiver would take them for
bodies, and purge would never look there with the spools in the bucket. A `forget` killed
mid-way leaves the folder behind, with every buyer's body in it: the next `forget`, `purge`
or receiver start on this machine removes it (`remove_leftover_copies`).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.state.areas import FILE_AREAS, Areas
from etl.state.atomic import write_atomically
from etl.state.blob_spool import open_spool
from etl.state.blobs import StorageOptions
from etl.state.private_files import make_private_folder, remove_leftover
from etl.state.spool_base import BodySpool

log = logging.getLogger(__name__)

COPIES = "spool-copies"  # under state/privacy/: stays with the machine, never migrated


def copies_home(areas: Areas) -> Path:
    """The private folder the bodies are copied to, laid out as a home."""
    return areas.privacy / COPIES


def remove_leftover_copies(areas: Areas) -> bool:
    """Remove the copies a killed `forget` left; whether there were any.

    Call it holding the spool purge's lock (SPOOL_LOCK), as `forget` holds it for its copies.
    """
    return remove_leftover(copies_home(areas), "the body copies")


@contextmanager
def spools_on_disk(storage: StorageOptions, areas: Areas) -> Iterator[Path]:
    """The block sees every spooled body as a file; yields the home whose spools hold them.

    That is the home itself with local spools, and the private copies' folder on object
    storage (`Areas(yielded).spool(area)` is where the bodies are).
    """
    if storage.backend != "s3":
        yield areas.home
        return
    remove_leftover_copies(areas)
    home = copies_home(areas)
    copies: list[tuple[BodySpool, Path, str]] = []
    try:
        make_private_folder(home)  # new: a leftover was removed above
        for area in FILE_AREAS:
            spool = open_spool(storage, areas, area)
            copies += _copied(spool, Areas(home).spool(area))
        yield home
        changed = [(s, p) for s, p, sha in copies if _sha256(p.read_bytes()) != sha]
        for spool, path in changed:
            spool.replace(path.name, path.read_bytes())
        if changed:
            log.info("put %d masked bod(ies) back on object storage", len(changed))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _copied(spool: BodySpool, folder: Path) -> list[tuple[BodySpool, Path, str]]:
    """Each body of `spool` written into `folder`, with the hash it had."""
    copies = []
    for name in spool.names():
        try:
            body = spool.read(name)
        except FileNotFoundError:
            continue  # purged since it was listed
        write_atomically(folder / name, body)
        copies.append((spool, folder / name, _sha256(body)))
    return copies


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

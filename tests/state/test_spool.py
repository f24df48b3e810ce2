"""The spool answers only for durable bodies, also when the same body arrives twice at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from etl.state.spool import Spool


class SlowDiskSpool(Spool):
    """A spool whose folder fsync takes a while, as on a busy disk; it notes when each ends."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.synced_at: list[float] = []

    def _sync_folder(self, paths: Sequence[Path]) -> list[None]:
        time.sleep(0.5)
        done = super()._sync_folder(paths)
        self.synced_at.append(time.monotonic())
        return done


def test_a_body_put_again_while_the_first_put_syncs_returns_only_once_it_is_durable(
    tmp_path: Path,
) -> None:
    # Found by review: the second put (a Norce retry) saw the renamed file and returned at
    # once, so the receiver answered 200 before the folder holding the body was fsync'd.
    (tmp_path / "spool").mkdir()
    spool = SlowDiskSpool(tmp_path / "spool")
    body = b'{"ClientOrderRef": "R1"}'
    returned: dict[str, float] = {}

    def put(name: str) -> None:
        spool.put("R1", body, "json")
        returned[name] = time.monotonic()

    first = threading.Thread(target=put, args=("first",))
    first.start()
    time.sleep(0.2)  # the first body is renamed into place; its folder fsync is under way
    put("retry")
    first.join()

    assert spool.synced_at, "the folder was never fsync'd"
    assert returned["retry"] >= spool.synced_at[0]
    assert returned["first"] >= spool.synced_at[0]

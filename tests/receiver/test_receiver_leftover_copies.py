"""The copies a killed `forget` left go at the next receiver start, unless forget runs.

`forget` on object-storage spools copies every body into `state/privacy/spool-copies/`, and it
reads the archived inputs of rejected rows through copies in `state/privacy/rejected-reads/`
(a decoded export: every customer's row); killed mid-way it leaves them there. The receiver's
start removes both, but only when it can take the `retention-spools` lock (a `forget` running
now holds it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from etl.state.areas import SPOOL_LOCK, Areas
from etl.state.locks import feed_lock
from etl.state.spool_copies import copies_home
from tests.support.receiver import receiver_settings, running


def _body_copy(home: Path) -> Path:
    """A body copy as a killed forget leaves it; the folder it is in."""
    body = copies_home(Areas(home)) / "state" / "spool" / "orders" / "7001-ab.json"
    body.parent.mkdir(parents=True)
    body.write_text('{"SellTo": {"Person": {"Email": "anna@example.com"}}}', encoding="utf-8")
    return copies_home(Areas(home))


def _rejected_rows_copy(home: Path) -> Path:
    """The decoded copy of a customers export a killed forget leaves; the folder it is in."""
    folder = Areas(home).privacy / "rejected-reads"
    copy = folder / "read-x1y2" / ".kunder_1.csv.utf8"
    copy.parent.mkdir(parents=True)
    copy.write_text("K-1001;Anna;Andersson;anna@example.com\n", encoding="utf-8")
    return folder


LEFTOVERS = pytest.mark.parametrize("leftover", [_body_copy, _rejected_rows_copy])


@LEFTOVERS
def test_the_receiver_start_removes_the_copies_a_killed_forget_left(
    tmp_path: Path, leftover: Callable[[Path], Path]
) -> None:
    settings = receiver_settings(tmp_path)
    folder = leftover(settings.home)

    with running(settings):
        assert not folder.exists()


@LEFTOVERS
def test_the_receiver_start_leaves_the_copies_of_a_forget_running_now(
    tmp_path: Path, leftover: Callable[[Path], Path]
) -> None:
    settings = receiver_settings(tmp_path)
    folder = leftover(settings.home)

    with feed_lock(Areas(settings.home).locks, SPOOL_LOCK) as taken:
        assert taken  # as `forget` holds it while it masks its copies
        with running(settings):
            assert any(p.is_file() for p in folder.rglob("*"))

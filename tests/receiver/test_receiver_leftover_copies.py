"""The body copies a killed `forget` left go at the next receiver start, unless forget runs.

`forget` on object-storage spools copies every body into `state/privacy/spool-copies/`; killed
mid-way it leaves them there, every buyer's body. The receiver's start removes them, but only
when it can take the `retention-spools` lock (a `forget` running now holds it for its copies).
"""

from __future__ import annotations

from pathlib import Path

from etl.state.areas import SPOOL_LOCK, Areas
from etl.state.locks import feed_lock
from etl.state.spool_copies import copies_home
from tests.support.receiver import receiver_settings, running


def _leftover(home: Path) -> Path:
    """A body copy as a killed forget leaves it."""
    body = copies_home(Areas(home)) / "state" / "spool" / "orders" / "7001-ab.json"
    body.parent.mkdir(parents=True)
    body.write_text('{"SellTo": {"Person": {"Email": "anna@example.com"}}}', encoding="utf-8")
    return body


def test_the_receiver_start_removes_the_copies_a_killed_forget_left(tmp_path: Path) -> None:
    settings = receiver_settings(tmp_path)
    body = _leftover(settings.home)

    with running(settings):
        assert not copies_home(Areas(settings.home)).exists(), body


def test_the_receiver_start_leaves_the_copies_of_a_forget_running_now(tmp_path: Path) -> None:
    settings = receiver_settings(tmp_path)
    body = _leftover(settings.home)

    with feed_lock(Areas(settings.home).locks, SPOOL_LOCK) as taken:
        assert taken  # as `forget` holds it while it masks its copies
        with running(settings):
            assert body.is_file()

"""A real `run.py` process killed between delivery and commit, then run again.

The second run must produce the same delta (byte-identical payloads), commit once, and
leave no trace of the dead run but an `interrupted` line in the ledger.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from etl.state.ledger.feed_runs import Ledger
from tests.support.masterdata import (
    PRODUCT_ROWS,
    local_settings_file,
    signal_at_commit_point,
    start_products_once,
    write_cp1252_products,
)


def _outbox(home: Path) -> dict[str, bytes]:
    root = home / "outbox" / "norce" / "products"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _staged(home: Path) -> dict[str, bytes]:
    """What uncommitted runs delivered in file mode: staged outside `outbox/norce/`."""
    roots = (home / "outbox" / ".norce").glob(".*.part/products")
    return {
        str(p.relative_to(r)): p.read_bytes() for r in roots for p in r.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_kill_between_delivery_and_commit_reruns_to_the_same_delta(
    home: Path, tmp_path: Path
) -> None:
    erp = tmp_path / "drop"
    (erp / "products").mkdir(parents=True)
    write_cp1252_products(erp / "products" / "products_1.csv", PRODUCT_ROWS)
    clean = local_settings_file(home, erp, 0)
    first = start_products_once(clean, home)
    assert first.wait(timeout=120) == 0, first.communicate()
    # The second export changes one row, adds one, drops one: a real delta on a real snapshot.
    second = [
        PRODUCT_ROWS[0].replace("Handske L", "Handske Large"),
        PRODUCT_ROWS[1],
        "100300;SAFE;Safe;SW-300;SW-300;Glasögon;;EYE;;25;0,05",
    ]
    write_cp1252_products(erp / "products" / "products_2.csv", second)
    before = _outbox(home)

    killed_run = start_products_once(local_settings_file(home, erp, 30), home)
    signal_at_commit_point(killed_run, signal.SIGKILL)
    killed_run.wait(timeout=10)

    ledger = Ledger(home / "state" / "ledger.sqlite")
    snapshot_before = ledger.current_snapshot("products")
    assert [r.outcome for r in ledger.runs("products")] == ["running", "committed"]
    ledger.close()
    assert (home / "inbox" / "products" / "products_2.csv").exists()
    assert (erp / "products" / "products_2.csv").exists()  # not moved: nothing committed
    assert _outbox(home) == before  # not committed: not in the outbox
    killed = _staged(home)
    assert killed, "the killed run delivered nothing"

    rerun = start_products_once(clean, home)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err

    after = {k: v for k, v in _outbox(home).items() if k not in before}
    assert after == killed  # the same delta, byte for byte, in the same batch
    ledger = Ledger(home / "state" / "ledger.sqlite")
    runs = ledger.runs("products")
    assert [r.outcome for r in runs] == ["committed", "interrupted", "committed"]
    assert (
        runs[0].counts["adds"] == 1
        and runs[0].counts["changes"] == 1
        and runs[0].counts["removals"] == 1
    )
    assert ledger.current_snapshot("products") != snapshot_before
    ledger.close()
    published = sorted(p.name for p in (home / "archive" / "products").glob("*/*") if p.is_dir())
    assert len(published) == 2 and not any(n.startswith(".") for n in published)
    assert not (home / "inbox" / "products" / "products_2.csv").exists()

"""`purge` and `forget` hold across machines that share a PostgreSQL ledger (issue 21).

Each machine's locks are files under its own `state/locks/`; with the ledger on PostgreSQL the
same names are held there too (etl.state.locks), so a forget on one machine refuses a purge or
a forget on another, as it refuses them on its own machine. Two homes on one ledger and one
bucket stand for the machines; each command is a real `run.py` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.state.areas import PURGE_LOCK
from etl.state.ledger.postgres import PostgresAt
from etl.state.locks import locks_held
from tests.support.ledger_holds import ledger_write_held
from tests.support.masterdata import run_once
from tests.support.paths import REPO
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW, drop_customers
from tests.support.s3 import S3Bucket
from tests.support.shared_homes import environ, shared_home

BUSY_PURGE = "another purge or a forget is running right now"
BUSY_FORGET = "is running right now; run forget again when it finished"


def _start(home: Path, dsn: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), "--config", "etl.toml", *args],
        cwd=home,
        env={**os.environ, **environ(dsn)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(home: Path, dsn: str, *args: str) -> tuple[int, str]:
    child = _start(home, dsn, *args)
    out, err = child.communicate(timeout=120)
    return child.returncode, out + err


@pytest.fixture
def machines(tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket) -> tuple[Path, Path]:
    """Machines A and B; A committed a customers export naming Eva (K-1005) and Anna."""
    erp = tmp_path / "erp"
    drop_customers(erp, "kunder_20261201.csv", [ANNA_ROW, EVA_ROW])
    a = shared_home(tmp_path / "a", erp, s3_bucket, shared_ledger.dsn)
    shared_home(tmp_path / "b", erp, s3_bucket, shared_ledger.dsn)
    outcomes = run_once(a, "customers")
    assert [o.outcome for o in outcomes if o.feed == "customers"] == ["committed"], outcomes
    return tmp_path / "a", tmp_path / "b"


@pytest.mark.slow
def test_a_forget_on_one_machine_refuses_purge_and_forget_on_another(
    machines: tuple[Path, Path], shared_ledger: PostgresAt
) -> None:
    a, b = machines
    dsn = shared_ledger.dsn
    with ledger_write_held(shared_ledger) as wait_for_writer:
        forget_a = _start(a, dsn, "forget", "--customer", "K-1005")
        # A holds every lock of its own (taken first) and waits to mask the ledger's rows.
        wait_for_writer(90)
        purge_b = _run(b, dsn, "purge")
        forget_b = _run(b, dsn, "forget", "--customer", "K-1001")
    out, err = forget_a.communicate(timeout=120)

    assert purge_b[0] == 1 and BUSY_PURGE in purge_b[1], purge_b
    assert forget_b[0] == 1 and BUSY_FORGET in forget_b[1], forget_b
    assert forget_a.returncode == 0, out + err
    # Once A is done, B purges and forgets as ever.
    assert _run(b, dsn, "purge")[0] == 0
    code, said = _run(b, dsn, "forget", "--customer", "K-1001")
    assert code == 0 and "request hmac-sha256:" in said, said


@pytest.mark.slow
def test_a_purge_is_refused_while_another_machine_purges(
    machines: tuple[Path, Path], shared_ledger: PostgresAt
) -> None:
    a, b = machines
    # What a purge running on A holds, held here by the same call purge_all makes.
    with locks_held(a / "state" / "locks", [PURGE_LOCK], shared_ledger) as busy:
        assert busy is None
        code, said = _run(b, shared_ledger.dsn, "purge")
    assert code == 1 and BUSY_PURGE in said, said
    assert _run(b, shared_ledger.dsn, "purge")[0] == 0

"""`forget` on machine B waits for an export of a layout running on machine A.

B never exported the layout, so it has no lock file for it: the export locks come from the
layouts, and on a PostgreSQL ledger A's `order-layout.<layout>` holds there too. Otherwise A's
export could archive a file naming the person after forget walked the bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.errors import EtlError
from etl.privacy.forget import forget
from etl.privacy.person import Request
from etl.state.ledger.postgres import PostgresAt
from etl.state.locks import locks_held
from tests.support.clock import NOW
from tests.support.exported_machines import LAYOUT, PREFIX, Machine
from tests.support.s3 import S3Bucket


@pytest.fixture
def machines(
    tmp_path: Path, shared_ledger: PostgresAt, s3_bucket: S3Bucket
) -> Iterator[tuple[Machine, Machine]]:
    storage = s3_bucket.settings(prefix=PREFIX)
    first = Machine(tmp_path / "a", tmp_path / "erp", shared_ledger, storage)
    second = Machine(tmp_path / "b", tmp_path / "erp", shared_ledger, storage)
    yield first, second
    first.close()
    second.close()


def test_forget_on_b_refuses_while_a_exports_the_layout(
    machines: tuple[Machine, Machine], shared_ledger: PostgresAt
) -> None:
    first, second = machines
    first.receive("order_1001", "order_1002")
    first.export()  # exported: forget has nothing on its way to wait for
    # What an export of the layout running on A holds (export_layout's own call).
    with locks_held(
        first.home / "state" / "locks", [f"order-layout.{LAYOUT}"], shared_ledger
    ) as busy:
        assert busy is None
        with pytest.raises(EtlError, match="running right now"):
            forget(second.settings, {}, Request("email", "anna@example.com"), NOW, dry_run=False)


def test_forget_on_b_during_a_running_export_on_a_is_refused(
    machines: tuple[Machine, Machine], s3_bucket: S3Bucket
) -> None:
    """B's forget comes while A's export is between its upload and its commit (A holds
    `order-layout.erp_csv` on the ledger): refused, so A's archive cannot follow the erasure."""
    first, second = machines
    first.receive("order_1001", "order_1002")
    said: list[str] = []

    def forget_on_b(_: float) -> None:
        try:
            forget(second.settings, {}, Request("email", "anna@example.com"), NOW, dry_run=False)
            said.append("forget ran")
        except EtlError as exc:
            said.append(f"refused: {exc}")

    first.export(before_commit=forget_on_b)
    archived = s3_bucket.objects(f"{PREFIX}/archive/")
    named = sorted(k for k, v in archived.items() if b"anna@example.com" in v)
    assert said and (said[0].startswith("refused") or named == []), (said, named)


def test_control_forget_on_the_exporting_machine_itself_is_refused(
    machines: tuple[Machine, Machine],
) -> None:
    """The same moment, forget on A (which has the layout's lock file): refused, as documented."""
    first, _ = machines
    first.receive("order_1001", "order_1002")
    said: list[str] = []

    def forget_on_a(_: float) -> None:
        try:
            forget(first.settings, {}, Request("email", "anna@example.com"), NOW, dry_run=False)
            said.append("forget ran")
        except EtlError as exc:
            said.append(f"refused: {exc}")

    first.export(before_commit=forget_on_a)
    assert said and said[0].startswith("refused"), said

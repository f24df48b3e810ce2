"""What a move leaves on the VM's disk: copies of personal data the new settings never reach.

`migrate-state` copies the folders and deletes nothing; `forget` on the new settings masks the
bucket and PostgreSQL only. The move must tell the operator which of the VM's folders still
hold people, and to delete them once the workers run (the R-SCALE review's case). A real
PostgreSQL and moto's S3 server; the VM home made by really running the product.
"""

from __future__ import annotations

from pathlib import Path

from etl.state.atomic import write_atomically
from etl.state.ledger.postgres import PostgresAt
from tests.support.s3 import S3Bucket
from tests.support.vm_home import another_machine, run, scale_out_environ, scale_out_toml

EMAIL = b"anna@example.com"
REFUSED = b'{"ClientOrderRef": "990001", "SellTo": {"Email": "anna@example.com"}, "Items": ['
PERSON = b"Andersson"  # the VM's exported order 7000001 (tests.support.orders.order)


def _holding(home: Path, value: bytes) -> list[str]:
    """The home's files under archive/, state/ and outbox/ (not the ERP's erp/) with `value`."""
    found = [p for top in ("archive", "state", "outbox") for p in (home / top).rglob("*")]
    return sorted(
        p.relative_to(home).as_posix() for p in found if p.is_file() and value in p.read_bytes()
    )


def test_the_move_names_the_personal_copies_left_on_the_vm_and_says_to_delete_them(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    rejected = vm_home / "archive" / "orders" / "rejected"
    write_atomically(rejected / "20261201T080000Z-0123456789abcdef.json", REFUSED)
    scale_out_toml(vm_home, s3_bucket)
    environ = scale_out_environ(postgres_at.dsn)

    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out
    code, forgot = run(another_machine(vm_home, "worker1"), "forget", "--email",
                       EMAIL.decode(), environ=environ)  # fmt: skip
    assert code == 0, forgot

    # forget on the new settings never reaches the VM's disk: its copies keep the people.
    left = {*_holding(vm_home, EMAIL), *_holding(vm_home, PERSON)}
    for copy in ("archive/orders/rejected/", "archive/orders/exported/", "state/spool/orders/"):
        assert any(p.startswith(copy) for p in left), (copy, left)
    # So the move names every folder it copied that holds them, and says to delete them.
    said = out.split("personal data left on this VM", 1)[1]
    for folder in ("archive/orders/", "state/spool/", "state/snapshots/", "outbox/"):
        assert folder in said, said
    assert "state/ledger.sqlite" in said, said
    assert "delete" in said and "deletes nothing" in said, said
    assert out.splitlines()[-1].startswith("moved: start the workers"), out
    assert "delete" in out.splitlines()[-1], out


def test_a_dry_run_says_nothing_of_copies_left_behind(
    vm_home: Path, postgres_at: PostgresAt, s3_bucket: S3Bucket
) -> None:
    scale_out_toml(vm_home, s3_bucket)
    code, out = run(vm_home, "migrate-state", "--dry-run",
                    environ=scale_out_environ(postgres_at.dsn))  # fmt: skip
    assert code == 0, out
    assert "personal data left on this VM" not in out, out

"""A one-VM home made by really running the product (SQLite ledger, local folders), and the
settings that move it over ([state] on PostgreSQL, [storage] on an S3 bucket).

The home runs the embedded default's contracts on a writable copy of the samples: a `once`
(every feed committed, documents sent in file mode), an order booked through the real
receiver and exported, and a products export that shrank so its removals are held.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
from pydantic import SecretStr

from etl.cli import main
from etl.config.settings import ReceiverSettings, load_settings
from etl.embedded import SAMPLES, SCHEMAS
from etl.state.ledger.postgres import PostgresAt
from tests.support.masterdata import write_cp1252_products
from tests.support.orders import encode, order
from tests.support.receiver import PASSWORD, USER, running
from tests.support.s3 import KEY_ID, REGION, SECRET, S3Bucket

ORDER_REF = "7000001"
DSN_ENV, KEY_ENV, SECRET_ENV = "ETL_STATE_DSN", "ETL_S3_KEY_ID", "ETL_S3_SECRET"
# A products export of 40 articles; then 15 of them: 25 removals, over the guard (held).
MANY = [f"2{i:05d};ACME;Acme AB;X-{i};X-{i};Artikel {i};;GLOVES;;25;1,0" for i in range(40)]


def run(home: Path, *args: str, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """One command in this process, as `run.py` runs it: (exit code, stdout)."""
    out = io.StringIO()
    with _environment(environ or {}), contextlib.redirect_stdout(out):
        code = main(["--config", str(home / "etl.toml"), "--home", str(home), *args])
    return code, out.getvalue()


def vm_toml(home: Path) -> None:
    """The one-VM settings: the embedded contracts, the ERP's folder inside the home."""
    (home / "etl.toml").write_text(
        f'schemas_dir = "{SCHEMAS}"\n[stores.erp]\nkind = "local"\nroot = "{home / "erp"}"\n',
        encoding="utf-8",
    )


def scale_out_toml(home: Path, bucket: S3Bucket | None, *, endpoint: str = "") -> None:
    """The settings after the move: the ledger in PostgreSQL, the folders in `bucket`."""
    vm_toml(home)
    text = f'[state]\nbackend = "postgresql"\ndsn_env = "{DSN_ENV}"\n'
    if bucket is not None:
        text += (
            f'[storage]\nbackend = "s3"\nbucket = "{bucket.name}"\nprefix = "shop1"\n'
            f'endpoint_url = "{endpoint or bucket.endpoint}"\nregion = "{REGION}"\n'
            f'access_key_id_env = "{KEY_ENV}"\nsecret_access_key_env = "{SECRET_ENV}"\n'
            "retry_seconds = 0\ntimeout_seconds = 5\n"
        )
    with (home / "etl.toml").open("a", encoding="utf-8") as settings:
        settings.write(text)


def scale_out_environ(dsn: str) -> dict[str, str]:
    """The secrets the scale-out settings read from the environment."""
    return {DSN_ENV: dsn, KEY_ENV: KEY_ID, SECRET_ENV: SECRET}


def moved(vm_home: Path, bucket: S3Bucket, at: PostgresAt, extra: str = "") -> dict[str, str]:
    """The VM home moved over with `migrate-state` (settings `extra` appended first); returns
    the environment its settings read."""
    scale_out_toml(vm_home, bucket)
    if extra:
        with (vm_home / "etl.toml").open("a", encoding="utf-8") as settings:
            settings.write(extra)
    environ = scale_out_environ(at.dsn)
    code, out = run(vm_home, "migrate-state", environ=environ)
    assert code == 0, out
    return environ


def another_machine(vm_home: Path, name: str) -> Path:
    """Another machine: an empty home beside the VM's with the very same settings file."""
    home = vm_home.parent / name
    home.mkdir()
    shutil.copy(vm_home / "etl.toml", home / "etl.toml")
    return home


def make_vm_home(home: Path) -> Path:
    """`home` after a VM's life: feeds committed, an order exported, removals held."""
    shutil.copytree(SAMPLES, home / "erp")
    vm_toml(home)
    code, out = run(home, "once")
    assert code == 0 and out.count(": committed") == 12, out
    _book_order(home)
    code, out = run(home, "once")
    assert code == 0 and "orders -> erp_csv: 1 file(s), 1 order(s)" in out, out
    products = home / "erp" / "products"
    write_cp1252_products(products / "products_20261121.csv", MANY)
    assert run(home, "once", "--feed", "products")[0] == 0
    write_cp1252_products(products / "products_20261122.csv", MANY[:15])
    code, out = run(home, "once", "--feed", "products")
    assert code == 0 and "held" in out, out
    return home


def twin_of(home: Path, twin: Path) -> Path:
    """A copy of the (stopped) VM home that stays on the VM's settings."""
    shutil.copytree(home, twin, symlinks=True)
    vm_toml(twin)
    return twin


def next_day(home: Path) -> None:
    """What the ERP drops next: every sample again, and a products export with one change."""
    shutil.copytree(SAMPLES, home / "erp", dirs_exist_ok=True)
    changed = [r.replace("Artikel 1;", "Artikel ett;") for r in MANY[:15]]
    write_cp1252_products(home / "erp" / "products" / "products_20261123.csv", changed)


def _book_order(home: Path) -> None:
    """The real receiver (uvicorn on loopback) books one order."""
    settings = load_settings(home / "etl.toml", {}, home)
    receiver = ReceiverSettings(username=USER, password=SecretStr(PASSWORD))
    with running(settings.model_copy(update={"receiver": receiver})) as served:
        answer = served.post(encode(order(ORDER_REF)))
        assert answer.status_code == httpx.codes.OK, answer.text


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """The process environment with `values` set, as they were afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

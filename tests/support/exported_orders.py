"""A one-VM home whose buyers' orders really went to the ERP in both shipped order layouts,
and `forget` run in it as the CLI runs it (tests/privacy's exported-file tests)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from etl.cli import _parser
from etl.config.contract_files import load_contracts
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.transport import LocalStore
from tests.support.paths import SCHEMAS
from tests.support.privacy_order_bodies import body
from tests.support.privacy_seed import AT, settings


def exported_home(
    root: Path, buyers: Sequence[tuple[str, Mapping[str, str]]], schemas: Path = SCHEMAS
) -> Path:
    """`root` with home/ and erp/: each (ref, buyer) spooled, booked and exported in every
    order layout of `schemas` (the shipped ones) to the local ERP folder; `root` back."""
    home, erp_root = root / "home", root / "erp"
    shutil.copytree(schemas, home / "schemas")
    erp_root.mkdir()
    config = settings(home, erp_root)
    state = home / "state"
    spool, book = Spool(state / "spool" / "orders"), OrderBook(state / "ledger.sqlite")
    store = LocalStore("erp", config.stores["erp"])
    try:
        for ref, who in buyers:
            spooled = spool.put(ref, body(ref, dict(who)), "json")
            book.receive(ref, spooled.sha256, spooled.path.name, "json", "push", AT)
        for layout in load_layouts(config).values():
            export_orders(config, book, spool, store, layout, lambda: dt.datetime.now(dt.UTC))
    finally:
        book.close()
    return root


def forget_in(home: Path, *args: str) -> str:
    """`run.py forget ARGS` on `home` (its ERP folder beside it); what it printed."""
    parsed = _parser().parse_args(["forget", *args])
    config = settings(home, home.parent / "erp")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, config, load_contracts(config)) == 0
    return out.getvalue()

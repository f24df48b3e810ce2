"""An installation's order book and spool fed with order bodies at known minutes, and its CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.config.settings import Settings, load_settings
from etl.state.spool import Spool
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound

T0 = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


class Desk:
    """The installation's order book and spool, fed with bodies at known minutes."""

    def __init__(self, home: Path) -> None:
        self.config = home / "etl.toml"
        self.config.write_text('home = "."\nschemas_dir = "schemas"\n', encoding="utf-8")
        self.settings: Settings = load_settings(self.config, {})
        self.minute = 0

    def clock(self) -> dt.datetime:
        """The next minute: each body taken gets its own."""
        self.minute += 1
        return T0 + dt.timedelta(minutes=self.minute)

    def take(self, *bodies: dict[str, Any] | bytes) -> None:
        """Take the bodies as the receiver does (push), one minute apart."""
        state = self.settings.folder("state")
        inbound = OrderInbound(
            OrderBook(state / "ledger.sqlite"),
            Spool(state / "spool" / "orders"),
            self.settings.folder("archive") / "orders" / "rejected",
            self.settings.orders,
            self.clock,
        )
        try:
            for body in bodies:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                inbound.accept(data, "application/json", "push")
        finally:
            inbound.book.close()

    def book(self) -> OrderBook:
        """The order book, opened (the caller closes it)."""
        return OrderBook(self.settings.folder("state") / "ledger.sqlite")

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
        """`run.py --config etl.toml ARGV` in this process; its exit code and output."""
        code = main(["--config", str(self.config), *argv])
        return code, capsys.readouterr().out

"""A home whose products feed expects its file daily at 06:00 in Stockholm, and a clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import load_settings
from etl.console.expected import MissingFile, missing_files
from etl.runtime import Runtime
from etl.to_norce.run import run_feed
from tests.support.paths import SAMPLES, SCHEMAS

SAMPLE = SAMPLES / "products" / "products_20261120.csv"
EXPECT = '[expect]\ncron = "0 6 * * *"\ngrace_minutes = 30\ntimezone = "Europe/Stockholm"\n'


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


class Clock:
    """The runtime's clock, set by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Desk:
    """A home with the products feed expecting its file, its ERP folder, a runtime."""

    def __init__(self, tmp_path: Path, root: Path | None = None) -> None:
        self.erp = tmp_path / "erp"
        (self.erp / "products").mkdir(parents=True)
        home = tmp_path / "home"
        (home / "schemas").mkdir(parents=True)
        contract = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
        (home / "schemas" / "products.toml").write_text(f"{contract}\n{EXPECT}", encoding="utf-8")
        (home / "etl.toml").write_text(
            f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{root or self.erp}"\n',
            encoding="utf-8",
        )
        settings = load_settings(home / "etl.toml", {})
        self.contracts: dict[str, FeedContract] = load_contracts(settings)
        self.clock = Clock(utc(2026, 11, 1))
        self.rt = Runtime.open(settings, clock=self.clock, sleep=lambda _s: None)

    def drop(self, name: str, written: dt.datetime) -> Path:
        """The sample export in the ERP's folder as `name`, written at `written`."""
        path = self.erp / "products" / name
        shutil.copyfile(SAMPLE, path)
        os.utime(path, (written.timestamp(), written.timestamp()))
        return path

    def take(self, at: dt.datetime, outcome: str = "committed duplicate") -> None:
        """A run of the feed at `at`: it takes what is in the folder, ending as `outcome`."""
        self.clock.now = at
        outcomes = run_feed(self.rt, self.contracts["products"])
        assert outcomes and all(o.outcome in outcome.split() for o in outcomes)

    def missing(self, at: dt.datetime) -> list[MissingFile]:
        return missing_files(self.rt, self.contracts, at)

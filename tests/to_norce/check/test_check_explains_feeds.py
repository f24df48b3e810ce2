"""`run.py check FILE` says which feeds would read the file, and why, before each check.

Without --feed the feeds are found as a run finds them: by each pickup feed's
source.pattern; the feeds reading that feed's files (source.from_feed) follow in run order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.cli import main
from etl.to_norce.check_feeds import FEED_HEADER
from tests.support.paths import SAMPLES, SCHEMAS

PRICES = SAMPLES / "prices" / "prices_20261120.csv"
CUSTOMERS = SAMPLES / "customers" / "kunder_20261120.csv"


def config(tmp_path: Path, schemas: Path = SCHEMAS) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "etl.toml"
    path.write_text(
        f'home = "{home}"\nschemas_dir = "{schemas}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{SAMPLES}"\nread_only = true\n',
        encoding="utf-8",
    )
    return path


def check(tmp_path: Path, *args: str) -> int:
    return main(["--config", str(config(tmp_path)), "check", *args])


def headers(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(FEED_HEADER)]


def test_check_without_feed_reads_the_file_as_the_feed_whose_pattern_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not as the first feed in run order (products): prices_*.csv is the prices feed's."""
    code = check(tmp_path, str(PRICES), "--out", str(tmp_path / "out"))

    out = capsys.readouterr().out
    assert code == 1  # the sample has bad rows on purpose
    assert headers(out) == [
        f"# Feed prices (entity price), contract {SCHEMAS / 'prices.toml'}",
        "# Picks up this file: its name matches source.pattern 'prices_*.csv' "
        "(erp:prices/prices_*.csv)",
    ]
    assert "Feed:             prices" in out.splitlines()
    assert "Feed:             products" not in out


def test_check_explains_the_feed_that_reads_the_file_before_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = check(tmp_path, str(CUSTOMERS))

    out = capsys.readouterr().out
    assert code == 1
    assert headers(out) == [
        f"# Feed companies (entity company), contract {SCHEMAS / 'companies.toml'}",
        "# Reads the files of feed customers (source.from_feed); runs before it: a customer "
        "row names its company (company_code), so Norce needs the rows of feed companies first",
        f"# Feed customers (entity customer), contract {SCHEMAS / 'customers.toml'}",
        "# Picks up this file: its name matches source.pattern 'kunder_*.csv' "
        "(erp:customers/kunder_*.csv)",
    ]
    feeds = [line for line in out.splitlines() if line.startswith("Feed: ")]
    assert feeds == ["Feed:             companies", "Feed:             customers"]
    reports = tmp_path / "home" / "outbox" / "checks" / "customers"
    assert sorted(p.name for p in reports.iterdir()) == [
        "kunder_20261120.companies.rejected.csv",
        "kunder_20261120.companies.rejected.xlsx",
        "kunder_20261120.rejected.csv",
        "kunder_20261120.rejected.xlsx",
    ]


def test_a_file_no_pattern_takes_is_refused_with_every_pattern_and_the_way_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = tmp_path / "export.csv"
    stray.write_bytes(PRICES.read_bytes())

    code = check(tmp_path, str(stray))

    printed = capsys.readouterr()
    assert code == 2 and printed.out == ""
    lines = printed.err.splitlines()
    assert (
        lines[0] == "no feed picks up a file named 'export.csv'; the feeds that pick up files take:"
    )
    assert "  prices          erp:prices/prices_*.csv" in lines
    assert "  customers       erp:customers/kunder_*.csv" in lines
    assert "companies" not in printed.err  # it picks up nothing itself
    assert (
        lines[-1]
        == "Rename the file as its feed expects, or pass --feed NAME to check it against one."
    )
    assert not (tmp_path / "home" / "outbox").exists()


def test_a_name_two_patterns_take_is_checked_by_both_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for name in ("prices", "prices_wide"):
        text = (SCHEMAS / "prices.toml").read_text(encoding="utf-8")
        text = text.replace('name = "prices"', f'name = "{name}"')
        (schemas / f"{name}.toml").write_text(
            text.replace("prices_*.csv", "*.csv"), encoding="utf-8"
        )
    out = tmp_path / "out"

    code = main(
        ["--config", str(config(tmp_path, schemas)), "check", str(PRICES), "--out", str(out)]
    )

    printed = capsys.readouterr().out.splitlines()
    assert code == 1
    assert printed[0] == (
        "Warning: 2 feeds pick up files named 'prices_20261120.csv' (prices, prices_wide): "
        "a run would give the file to each of them; narrow their source.pattern"
    )
    assert [line for line in printed if line.startswith("Feed: ")] == [
        "Feed:             prices",
        "Feed:             prices_wide",
    ]
    # One --out folder for both: each report is named by its feed, none overwrites the other.
    assert sorted(p.name for p in out.iterdir()) == [
        "prices_20261120.prices.rejected.csv",
        "prices_20261120.prices.rejected.xlsx",
        "prices_20261120.prices_wide.rejected.csv",
        "prices_20261120.prices_wide.rejected.xlsx",
    ]


def test_with_feed_the_header_says_when_its_pattern_would_not_take_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = tmp_path / "kunder.txt"
    renamed.write_bytes(CUSTOMERS.read_bytes())

    code = check(tmp_path, str(renamed), "--feed", "customers")

    out = capsys.readouterr().out
    assert code == 1
    assert headers(out)[3] == (
        "# Chosen with --feed: its source.pattern 'kunder_*.csv' does not match this name, "
        "so a run would not pick it up"
    )
    assert headers(out)[0].startswith("# Feed companies (entity company)")

"""Running `check` on a fixture case: its settings file and the summary lines it prints."""

from __future__ import annotations

from pathlib import Path

from etl.read.reports import MERGED_ROWS
from etl.to_norce.check_feeds import FEED_HEADER
from tests.fixtures.cases import Case


def settings_file(tmp_path: Path, case: Case) -> Path:
    """Settings whose home is empty and whose schemas folder holds the case's contract."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "etl.toml"
    config.write_text(
        f'home = "{home}"\nschemas_dir = "{case.contract_path.parent}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{tmp_path}"\nread_only = true\n',
        encoding="utf-8",
    )
    return config


def printed_summary(lines: list[str]) -> dict[str, str]:
    """The label: value lines after the feed's header, before the error codes and report paths."""
    out = {}
    for line in lines:
        if line.startswith(FEED_HEADER):
            continue
        if line.startswith(("Rejected cells per error code:", "Report: ", MERGED_ROWS)):
            break
        label, _, value = line.partition(":")
        out[label] = value.strip()
    return out

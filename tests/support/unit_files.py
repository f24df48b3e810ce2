"""Read the systemd unit files in deploy/ as systemd does: sections, repeated keys, continuations."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

DEPLOY = REPO / "deploy"
SCHEDULER = DEPLOY / "erp-norce-etl.service"
RECEIVER = DEPLOY / "erp-norce-etl-receiver.service"
UNITS = (SCHEDULER, RECEIVER)
INSTALLED_SCRIPT = "/opt/erp-norce-etl/venv/bin/erp-norce-etl"


@dataclass(frozen=True)
class Unit:
    """Every (section, key, value) of a unit file, in file order."""

    entries: tuple[tuple[str, str, str], ...]

    def all(self, key: str, section: str = "Service") -> list[str]:
        """Every value given for `key`, in order (SystemCallFilter= and the like repeat)."""
        return [v for s, k, v in self.entries if s == section and k == key]

    def one(self, key: str, section: str = "Service") -> str:
        """The value systemd uses for a single-valued key: the last one given."""
        values = self.all(key, section)
        assert values, f"[{section}] {key}= is not set"
        return values[-1]

    def exec_start(self) -> list[str]:
        """ExecStart= split into argv as systemd would (quotes, no shell)."""
        return shlex.split(self.one("ExecStart"))

    def environment(self) -> dict[str, str]:
        """The variables Environment= lines set."""
        pairs = (item.split("=", 1) for line in self.all("Environment") for item in line.split())
        return {name: value for name, value in pairs}


def read_unit(path: Path) -> Unit:
    """Parse a unit file; a line ending in a backslash continues on the next."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return Unit(tuple(entries))

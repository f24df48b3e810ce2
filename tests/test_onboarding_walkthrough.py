"""The docs' "Onboarding a new export", run as a newcomer runs it: so it cannot go stale.

The section is read from docs/feed-contracts.md and taken block by block, in order:
- a `console` block: its `$ ` commands run in bash from the checkout, as real processes, with
  `W` (the walkthrough's folder) a fresh temp folder; the lines under a command are what it
  must print, in that order (`$W` stands for the folder, `...` for any text, a line of `...`
  for any lines);
- a `toml` block: written to the file its first line names (`# $W/schemas/x.toml: ...`);
- a `diff` block: applied to that file (` ` lines must be in it, `+` lines go after them);
- a `> ` quote: a message the latest check's report (the CSV) must hold.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow

TITLE = "## Onboarding a new export"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```\n|^> ([^\n]*)\n", re.MULTILINE | re.DOTALL)
MARK = "@@walkthrough-command@@"


def section() -> str:
    """The walkthrough's text: from its title to the next heading."""
    page = (REPO / "docs" / "feed-contracts.md").read_text(encoding="utf-8")
    start = page.index(TITLE) + len(TITLE)
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(page, start)
    return page[start : end.start() if end else len(page)]


def commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, the lines it must print) for each `$ ` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line)
    return out


def run_console(block: str, env: dict[str, str], exports: list[str]) -> None:
    """Run the block's commands in one bash, in order; each prints what the docs quote.

    `exports`: the `export` commands of earlier blocks, as a person's shell keeps them.
    """
    steps = commands(block)
    # The walkthrough's folder is this test's own, whatever the docs pick for a person.
    mine = [re.sub(r"^export W=.*", "true", command) for command, _ in steps]
    script = "".join(f"{command}\n" for command in exports)
    script += "".join(f"echo {MARK}\n{command}\n" for command in mine)
    exports += [command for command in mine if command.startswith("export ")]
    done = subprocess.run(
        ["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    printed = done.stdout.split(f"{MARK}\n")[1:]
    assert len(printed) == len(steps), done.stderr
    for (command, quoted), output in zip(steps, printed, strict=True):
        assert_quoted(command, quoted, output.splitlines(), env["W"], done.stderr)


def assert_quoted(command: str, quoted: list[str], lines: list[str], w: str, err: str) -> None:
    """Every quoted line is printed, in the quoted order; `...` stands for anything."""
    at = 0
    for want in quoted:
        if want == "...":
            continue
        pattern = ".*".join(re.escape(part.replace("$W", w)) for part in want.split("..."))
        found = [n for n in range(at, len(lines)) if re.fullmatch(pattern, lines[n].rstrip())]
        assert found, f"$ {command}\nexpected: {want}\nprinted:\n" + "\n".join(lines) + err
        at = found[0] + 1


def apply_diff(path: Path, diff: str) -> None:
    """Insert each `+` line after the context line (` `) or inserted line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    at = 0
    for line in diff.splitlines():
        if line.startswith(" "):
            at = lines.index(line[1:], at) + 1
        else:
            assert line.startswith("+"), line
            lines.insert(at, line[1:])
            at += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def report_messages(w: Path) -> set[str]:
    """The "What is wrong" cells of every check report in the walkthrough's folder."""
    messages = set()
    for report in (w / "outbox" / "checks").rglob("*.rejected.csv"):
        with report.open(encoding="utf-8-sig", newline="") as handle:
            messages |= {row["What is wrong"] for row in csv.DictReader(handle)}
    return messages


def test_the_onboarding_walkthrough_runs_as_the_docs_say(tmp_path: Path) -> None:
    w = tmp_path / "woo-onboarding"
    env = {k: v for k, v in os.environ.items() if k != "ETL_CONFIG"} | {"W": str(w)}
    contract: Path | None = None
    exports: list[str] = []
    blocks = list(BLOCK.finditer(section()))
    assert [b[1] for b in blocks if b[1]].count("console") >= 5, "the walkthrough is there"

    for block in blocks:
        kind, body, quote = block[1], block[2], block[3]
        if quote is not None:
            assert quote in report_messages(w)
        elif kind == "console":
            run_console(body, env, exports)
        elif kind == "toml":
            first = body.splitlines()[0]
            contract = Path(first.removeprefix("# ").split(":")[0].replace("$W", str(w)))
            contract.write_text(body, encoding="utf-8")
        elif kind == "diff":
            assert contract is not None, "a diff comes after the contract it changes"
            apply_diff(contract, body)

    assert not (REPO / "outbox" / "checks" / "woo_prices").exists(), "all of it went to $W"

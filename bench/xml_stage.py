"""Row 6's stage alone: parse + validate of the 1M-record stock XML, in CPU seconds and peak.

On the shared machine the manifest's wall seconds mostly measure the other work; CPU time
(user + system of the process, every thread) does not. Each round, in fresh subprocesses
and in alternating order: a bare lxml `iterparse` with `clear()` (1.00x), the stage in this
tree and, with `--before PATH`, the stage in another checkout of the repository (its own
PYTHONPATH, same interpreter), so a change is measured against the code before it in the
same rounds. The stage is what a run's `parse_validate` lap covers (etl.to_norce.masterdata
.flow.ingest): parse_and_validate, the reference check (settle) and the rejected-ratio
check, timed after the imports and the contract; its peak is reset when it starts, as the
run's Timer does. A worker imports only `etl` (from its PYTHONPATH) and polars after it.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _bare(path: Path) -> dict[str, float]:
    """lxml iterparse of every <Item>, cleared: the least an XML reader does."""
    from lxml import etree

    cpu, wall = _cpu(), time.perf_counter()
    for _, element in etree.iterparse(str(path), events=("end",), tag="Item"):
        element.clear()
    return {"cpu": _cpu() - cpu, "wall": time.perf_counter() - wall, "peak_mb": _peak_mb()}


def _stage(home: Path, file: Path) -> dict[str, Any]:
    """The run's parse_validate stage on `file` in `home`, with the etl on sys.path."""
    import etl  # noqa: F401  (first: it sets polars' allocator up, as run.py does)
    from etl.config.contract_files import load_contracts
    from etl.config.settings import load_settings
    from etl.read.references import settle
    from etl.runtime import Runtime
    from etl.to_norce.feed import parse_and_validate, refuse_if_suspect
    from etl.to_norce.masterdata.flow import referenced_values

    settings = load_settings(home / "etl.toml", {})
    rt = Runtime.open(settings)
    contract = load_contracts(settings)["stock"]
    scratch = home / "inbox" / "stock"
    Path("/proc/self/clear_refs").write_text("5")  # the stage's own peak (Timer does this)
    cpu, wall = _cpu(), time.perf_counter()
    validated = parse_and_validate(file, contract, scratch)
    validated = settle(validated, contract, referenced_values(rt, contract))
    refuse_if_suspect(validated, contract, file.name)
    figures = {"cpu": _cpu() - cpu, "wall": time.perf_counter() - wall, "peak_mb": _peak_mb()}
    rt.close()
    return {**figures, "valid": validated.valid.height, "rejected": validated.rejected_rows}


def worker(argv: list[str]) -> None:
    """In a fresh process: `bare FILE` or `stage HOME FILE`; one JSON line of figures."""
    kind, *rest = argv
    figures = _bare(Path(rest[0])) if kind == "bare" else _stage(Path(rest[0]), Path(rest[1]))
    print(json.dumps(figures))


def _spawn(tree: Path | None, *args: str) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    out = subprocess.run(
        [sys.executable, str(HERE), "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} in {tree or 'this tree'}:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def paired(
    homes: dict[str, Path], file: Path, repeat: int, before: Path | None
) -> list[dict[str, Any]]:
    """`repeat` rounds of bare, ours (and before, each in its home), the order turned every
    other round."""
    runs: dict[str, tuple[Path | None, tuple[str, ...]]] = {
        "bare": (None, ("bare", str(file))),
        "ours": (REPO, ("stage", str(homes["ours"]), str(file))),
    }
    if before is not None:
        runs["before"] = (before, ("stage", str(homes["before"]), str(file)))
    rounds = []
    for n in range(repeat):
        order = list(runs) if n % 2 == 0 else list(reversed(runs))
        rounds.append({name: _spawn(runs[name][0], *runs[name][1]) for name in order})
        print(f"  round {n + 1}: " + json.dumps(rounds[-1]), flush=True)
    return rounds


def summary(rounds: list[dict[str, Any]]) -> str:
    """Medians of each run's CPU, wall and peak, and of the per-round CPU ratios."""

    def median(name: str, what: str) -> float:
        return statistics.median(float(r[name][what]) for r in rounds)

    def ratio(a: str, b: str) -> float:
        return statistics.median(float(r[a]["cpu"]) / float(r[b]["cpu"]) for r in rounds)

    lines = [f"parse + validate stage, medians of {len(rounds)} paired rounds:"]
    for name in rounds[0]:
        cpu, wall, peak = (median(name, w) for w in ("cpu", "wall", "peak_mb"))
        against = "" if name == "bare" else f"  CPU {ratio(name, 'bare'):5.2f}x bare lxml"
        lines.append(
            f"  {name:<7} CPU {cpu:7.3f} s  wall {wall:7.3f} s  peak {peak:6.0f} MB{against}"
        )
    if "before" in rounds[0]:
        peaks = statistics.median(r["ours"]["peak_mb"] / r["before"]["peak_mb"] for r in rounds)
        lines.append(f"  ours / before: CPU {ratio('ours', 'before'):.2f}x, peak {peaks:.2f}x")
    ours = rounds[0]["ours"]
    lines.append(f"  rows: {ours['valid']} valid, {ours['rejected']} rejected")
    return "\n".join(lines)


if __name__ == "__main__":
    worker(sys.argv[2:])

"""Benchmark of the push receiver against the least a durable receiver must do (issue 18, row 8).

Each round, paired, on free ports of 127.0.0.1, the same load from this process (--senders
concurrent asyncio senders, one keep-alive httpx client each, Basic auth, --requests distinct
OrderRequest bodies after one warm-up order per sender):

1. **bare uvicorn, fsync'd** (1.00x): a trivial ASGI app under the same uvicorn settings that
   reads the body, writes it to a new file in a worker thread, fsyncs the file and its folder,
   and answers the same OrderResponse. No auth, no parsing, no ledger: the least an OK that
   stands for a body on disk costs.
2. **our receiver**: `run.py receive` in a fresh home (auth, body checks, the spool fsync'd, the
   order booked in the ledger, SQLite WAL with synchronous=FULL, before the OK).

The two alternate, each in a fresh process: bare then ours in odd rounds, ours then bare in
even ones, so a load that rises or falls during a round costs both alike over the rounds.
Afterwards every order must be in our spool and ledger exactly once, bytes as sent. Printed
per round and as the median of the per-round figures: orders/s and p99 of both, ours / bare,
and the server process's CPU per order (user + system from /proc/<pid>/stat, during the timed
load) with its ratio ours / bare: on the shared VM the CPU ratio is the figure that moves
least with the load. `--tree` serves ours from another checkout (a copy of an older commit),
so before and after are measured by the same bench against the same baseline.

    python bench/receiver.py
    python bench/receiver.py --requests 4000 --senders 20 --repeat 5
    python bench/receiver.py --tree /tmp/before    # ours from that checkout's run.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.orders import (  # noqa: E402
    P99_TARGET_MS,
    Load,
    _check_once,
    _free_port,
    _home,
    _load_round,
    order_bytes,
)

RATIO_TARGET = 0.7


def _bare_fsync_receiver(port: int, folder: Path) -> None:
    """The baseline: the same uvicorn settings and answer; each body fsync'd to its own file."""
    import uvicorn

    from etl.receiver.guarded_server import BACKLOG
    from etl.to_erp.orders.inbound import ok

    body = json.dumps(ok("queued").body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(10**9))

    def keep(data: bytes) -> None:
        fd = os.open(folder / f"{next(counter)}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await asyncio.to_thread(keep, b"".join(parts))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # The settings of serve_receiver: h11 and the plain asyncio loop (serve_receiver runs
    # its server under asyncio.run; "auto" would pick httptools and uvloop when installed),
    # the same listen queue, no access log, the same graceful shutdown.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_config=None,
                            access_log=False, timeout_graceful_shutdown=10, http="h11",
                            loop="asyncio", backlog=BACKLOG)  # fmt: skip
    uvicorn.Server(config).run()


@dataclass(frozen=True)
class Round:
    """One paired round: the baseline's load and ours, and what the check found."""

    bare: Load
    ours: Load
    problems: list[str]
    ours_first: bool = False  # the order the two ran in this round
    load_average: float = 0.0  # the 1-minute load average at the round's end


def measure(work: Path, requests: int, senders: int, repeat: int, tree: Path = REPO) -> list[Round]:
    """Paired rounds of the fsync'd bare app and our receiver (from `tree`), in turns."""
    bodies = [order_bytes(n) for n in range(requests)]
    warmup = [order_bytes(requests + k) for k in range(senders)]
    rounds = []
    work.mkdir(parents=True, exist_ok=True)
    for n in range(repeat):
        ours_first = n % 2 == 1
        loads: dict[str, Load] = {}
        for side in ("ours", "bare") if ours_first else ("bare", "ours"):
            if side == "bare":
                loads[side] = _bare_round(work, bodies, senders)
            else:
                home, loads[side] = _our_round(work, tree, bodies, senders)
        problems = _check_once(home, bodies + warmup)
        rounds.append(Round(loads["bare"], loads["ours"], problems, ours_first, os.getloadavg()[0]))
    return rounds


def _bare_round(work: Path, bodies: list[bytes], senders: int) -> Load:
    """The fsync'd bare app in a fresh process, its spool folder emptied first."""
    port, folder = _free_port(), work / "bare-spool"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    argv = [sys.executable, __file__, "--worker", str(port), str(folder)]
    return _load_round(argv, port, work / "bare.log", bodies, senders)


def _our_round(work: Path, tree: Path, bodies: list[bytes], senders: int) -> tuple[Path, Load]:
    """`run.py receive` of `tree` in a fresh home; the home (for the check) and the load."""
    port = _free_port()
    home = _home(work / "home", f"port = {port}\n")
    argv = [sys.executable, str(tree / "run.py"), "--config", str(home / "etl.toml"), "receive"]
    return home, _load_round(argv, port, home / "receiver.log", bodies, senders)


def report(rounds: list[Round], requests: int, senders: int) -> str:
    """The rounds, the medians of their figures and the verdict as printed lines."""
    lines = [
        f"receiver: {requests} distinct orders from {senders} concurrent senders, "
        f"{len(rounds)} paired rounds in turns (bare uvicorn with an fsync'd write of each "
        "body, and ours; CPU is the server process's user + system per order)",
        f"  {'round':<9} {'bare o/s':>8} {'ours o/s':>8} {'ratio':>6} {'bare p99':>9} "
        f"{'ours p99':>9} {'bare cpu':>9} {'ours cpu':>9} {'cpu x':>6} {'load':>5}",
    ]
    ratios, cpu_ratios, p99s, cpus = [], [], [], []
    for n, r in enumerate(rounds, 1):
        bare, ours = r.bare.figures(), r.ours.figures()
        ratios.append(ours["rate"] / bare["rate"])
        cpu_ratios.append(ours["cpu"] / bare["cpu"] if bare["cpu"] else float("nan"))
        p99s.append((bare["p99"], ours["p99"]))
        cpus.append((bare["cpu"], ours["cpu"]))
        label = f"{n} {'O,B' if r.ours_first else 'B,O'}"
        lines.append(
            f"  {label:<9} {bare['rate']:8.0f} {ours['rate']:8.0f} {ratios[-1]:5.2f}x "
            f"{bare['p99']:7.1f}ms {ours['p99']:7.1f}ms {bare['cpu']:7.2f}ms {ours['cpu']:7.2f}ms "
            f"{cpu_ratios[-1]:5.2f}x {r.load_average:5.1f}"
        )
    ratio = statistics.median(ratios)
    p99 = statistics.median(p for _, p in p99s)
    bare_p99 = statistics.median(p for p, _ in p99s)
    bare_cpu, ours_cpu = (statistics.median(c[k] for c in cpus) for k in (0, 1))
    failures = sum(len(r.bare.failures) + len(r.ours.failures) for r in rounds)
    problems = [p for r in rounds for p in r.problems]
    met = ratio >= RATIO_TARGET and p99 <= P99_TARGET_MS and not failures and not problems
    lines += [
        f"  median of the rounds: ours / bare {ratio:.2f}x (target >= {RATIO_TARGET}x), p99 "
        f"{p99:.1f} ms (bare {bare_p99:.1f} ms; target <= {P99_TARGET_MS:.0f} ms): "
        f"{'met' if met else 'NOT met'}",
        f"  server CPU per order (median): bare {bare_cpu:.2f} ms, ours {ours_cpu:.2f} ms, "
        f"ours / bare {statistics.median(cpu_ratios):.2f}x; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
        f"  non-OK answers: {failures}; check: "
        + ("; ".join(problems[:5]) if problems else "every order spooled and booked exactly once"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="orders posted per round")
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders")
    parser.add_argument("--repeat", type=int, default=3, help="paired rounds")
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "receiver")
    parser.add_argument(
        "--tree", type=Path, default=REPO, help="serve ours from this checkout's run.py"
    )
    args = parser.parse_args()
    rounds = measure(args.data, args.requests, args.senders, args.repeat, args.tree.resolve())
    print(report(rounds, args.requests, args.senders), flush=True)
    bad = any(r.problems or r.bare.failures or r.ours.failures for r in rounds)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _bare_fsync_receiver(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()

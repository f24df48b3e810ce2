"""Benchmark: throughput of 1 against 3 `run.py worker` processes on 20 feeds (issue 21).

Each feed is a copy of the shipped products contract in a folder of its own, due every
second; each gets a generated products export of --rows rows (bench/erp_exports.py, the
shipped dialect), different ids per feed. A round starts N real workers (`--concurrency 1`
each) on a fresh home whose ledger and task queue are one new database of an embedded
PostgreSQL server, waits until each says it started, then drops every feed's file (temp
name, rename) and times until the ledger has every file committed. Norce is file mode
(payloads to outbox/norce): the real pipeline up to the delivery, no network.

Within a round the two counts run one after the other, their order alternating per round;
printed are the medians of each and the median of the per-round ratios (1 worker's time
over N workers'), with every round's ratio. Worker start-up (importing etl, procrastinate's
schema) is not timed: the clock starts at the drop.

    .venv/bin/python bench/workers.py                       # 20 feeds x 20,000 rows, 3 rounds
    .venv/bin/python bench/workers.py --rows 2000 --repeat 1   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.erp_exports import write_products  # noqa: E402
from etl.state.ledger.feed_runs import Ledger  # noqa: E402
from etl.state.ledger.postgres import PostgresAt  # noqa: E402
from tests.support.cluster_workers import Worker, start_worker  # noqa: E402
from tests.support.postgres import fresh_database, release, server_uri  # noqa: E402

SHIPPED = REPO / "etl" / "embedded" / "schemas" / "products.toml"
EVERY_SECOND = "interval_minutes = 0.0166666667"  # the queue keeps it as every 1 s


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20, help="feeds, a file each (default 20)")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per file (default 20,000)")
    parser.add_argument("--workers", type=int, default=3, help="N, against 1 (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="paired rounds (default 3)")
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "workers")
    return parser.parse_args(argv)


def feed_names(feeds: int) -> list[str]:
    """products_01, products_02, ..."""
    return [f"products_{n:02d}" for n in range(1, feeds + 1)]


def generate(data: Path, feeds: int, rows: int) -> dict[str, Path]:
    """One products export per feed (kept between runs), ids of its own."""
    files = {}
    for index, feed in enumerate(feed_names(feeds)):
        path = data / f"{feed}-{rows}.csv"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            ids = list(range(index * rows, (index + 1) * rows))
            write_products(path, ids, set(), set())
        files[feed] = path
    return files


def make_home(home: Path, feeds: list[str]) -> Path:
    """The feeds' contracts (due every second, taken on rename) and etl.toml; the ERP folder."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    (home / "schemas").mkdir(parents=True)
    erp = home / "erp"
    for feed in feeds:
        text = re.sub(r'^name = "\w+"', f'name = "{feed}"', shipped, count=1, flags=re.M)
        text = re.sub(r'^folder = "\w+"', f'folder = "{feed}"', text, count=1, flags=re.M)
        text = re.sub(r'^cron = ".*"', EVERY_SECOND, text, flags=re.M)
        (home / "schemas" / f"{feed}.toml").write_text(text, encoding="utf-8")
        (erp / feed).mkdir(parents=True)
    (home / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        '[state]\nbackend = "postgresql"\ndsn_env = "BENCH_LEDGER_DSN"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{erp}"\n',
        encoding="utf-8",
    )
    return erp


def committed(dsn: str) -> int:
    """How many files the ledger has committed."""
    ledger = Ledger(PostgresAt(dsn))
    try:
        return sum(1 for run in ledger.runs(limit=10_000) if run.outcome == "committed")
    finally:
        ledger.close()


def wait(what: str, check: Callable[[], bool], workers: list[Worker], seconds: float) -> None:
    """Poll `check` every 50 ms; SystemExit with the workers' logs when it never holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    logs = "\n".join(w.log()[-2000:] for w in workers)
    raise SystemExit(f"never: {what}\n{logs}")


def children_cpu() -> float:
    """CPU seconds (user and system) of every child process waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def one_round(uri: str, root: Path, files: dict[str, Path], count: int) -> tuple[float, float]:
    """Seconds from the drop to the last commit with `count` workers, and the workers' CPU
    seconds (start to stop, start-up included)."""
    cpu_before = children_cpu()
    with fresh_database(uri) as at:
        home = Path(tempfile.mkdtemp(prefix=f"w{count}-", dir=root))
        erp = make_home(home, list(files))
        env = {"BENCH_LEDGER_DSN": at.dsn}
        workers = [start_worker(home, f"worker-{n}", at.dsn, env, 1) for n in range(count)]
        try:
            wait(
                "workers up",
                lambda: all(" started with " in w.log() for w in workers),
                workers,
                120,
            )
            started = time.monotonic()
            for feed, source in files.items():
                part = erp / feed / "products_20261201.csv.part"
                os.link(source, part)  # the same bytes every round, no copying timed
                part.rename(part.with_suffix(""))
            wait("every file committed", lambda: committed(at.dsn) >= len(files), workers, 900)
            seconds = time.monotonic() - started
        finally:
            for worker in workers:
                worker.process.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.process.wait(timeout=120)
        return seconds, children_cpu() - cpu_before


def main(argv: list[str] | None = None) -> int:
    """Run the paired rounds and print the table."""
    args = parse_args(argv)
    files = generate(args.data, args.feeds, args.rows)
    root = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    # Not under the 0700 folder: run as root, the server runs as a user of its own.
    pg_root = Path(tempfile.gettempdir()) / f"bench-workers-pg-{os.getpid()}"
    uri = server_uri(pg_root)
    one: list[float] = []
    many: list[float] = []
    cpu: dict[int, list[float]] = {1: [], args.workers: []}
    try:
        for round_no in range(args.repeat):
            order = [1, args.workers] if round_no % 2 == 0 else [args.workers, 1]
            for count in order:
                seconds, used = one_round(uri, root, files, count)
                (one if count == 1 else many).append(seconds)
                cpu[count].append(used)
                print(
                    f"round {round_no + 1}: {count} worker(s): {seconds:.1f} s "
                    f"(workers' CPU {used:.1f} s)",
                    flush=True,
                )
    finally:
        release(pg_root)
    ratios = [a / b for a, b in zip(one, many, strict=True)]
    n = args.workers
    print(f"\n{args.feeds} feeds x {args.rows:,} rows, {args.repeat} paired rounds")
    print("| workers | median s | files/s | workers' CPU s |\n|---:|---:|---:|---:|")
    for count, times in ((1, one), (n, many)):
        median = statistics.median(times)
        used = statistics.median(cpu[count])
        print(f"| {count} | {median:.1f} | {args.feeds / median:.2f} | {used:.1f} |")
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"\nthroughput {n} workers / 1 worker: median {statistics.median(ratios):.2f}x ({rounds})"
    )
    print(f"cores on this machine: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

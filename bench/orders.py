"""Benchmark of the order lifecycle: the push receiver under concurrent senders, and the export
job rendering and uploading spooled orders to an SFTP server on 127.0.0.1.

Receiver: `run.py receive` (the real uvicorn, a fresh home) takes --requests distinct
OrderRequest bodies from --senders concurrent senders (asyncio, one keep-alive httpx client
each, Basic auth). Each body is fsync'd into the spool and committed to the ledger before the
OK. Baseline, in the same round: a trivial ASGI app under the same uvicorn settings and the same
load that answers the same OrderResponse without touching the disk ("bare uvicorn"). Afterwards
every order must be in the spool and the ledger exactly once, byte for byte as it was sent.

Export: --orders orders are spooled into a fresh home (OrderInbound, as the receiver does; not
timed), then the real export job (`export_once`, run until nothing is due, as the scheduler
would) runs for each shipped layout in a fresh subprocess (its own peak RSS) against an asyncssh
SFTP server whose host key is pinned in known_hosts. Baseline: the same files with the same
bytes uploaded with bare paramiko `put` over one connection. Afterwards every order must be on
the server exactly once.

Figures are medians over --repeat receiver rounds and --export-repeat export rounds, printed as
ratios to the baseline (the machine is noisy; compare ratios, not seconds across runs), with the
DESIGN.md target beside them.

    python bench/orders.py
    python bench/orders.py --requests 2000 --senders 20 --repeat 3 --orders 10000 --export-repeat 1
    python bench/orders.py --parts receiver --requests 5000 --repeat 7
    python bench/orders.py --parts export --layouts erp_csv --export-repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHIPPED = REPO / "etl" / "embedded" / "schemas"  # the embedded default's layouts

USER, PASSWORD = "norce", "bench-receiver-password"
PARTS = ("receiver", "export")
REF_BASE = 5_000_000
P99_TARGET_MS = 100.0

# -- the orders ----------------------------------------------------------------------------

_FIRST = ("Anna", "Örjan", "Åsa", "Lars", "Märta", "Björn", "Karin", "Jörgen", "Elin", "Måns")
_LAST = ("Åström", "Ek", "Lindqvist", "Nyström", "Öberg", "Holm", "Söderberg", "Berg", "Wik")
_STREETS = ("Storgatan", "Sjövägen", "Kungsgatan", "Ängsvägen", "Björkallén", "Hamngatan")
_CITIES = (("11122", "Stockholm"), ("41301", "Göteborg"), ("21120", "Malmö"),
           ("75320", "Uppsala"), ("90326", "Umeå"), ("58223", "Linköping"))  # fmt: skip
_GOODS = tuple(
    (f"{100_000 + n * 10 + k}", f"{kind} {size}", unit, price)
    for n, (kind, unit, price) in enumerate(
        [("Arbetshandske", "st", 79.2), ("Skruv 4,2\u00d725 (200 st)", "fp", 47.99),
         ("Träolja 1 l", "st", 189.0), ("Målarduk", "st", 129.5), ("Fogskum", "st", 99.9),
         ("Slipmedel K120", "fp", 59.0), ("Tumstock 2 m", "st", 69.0), ("Spackel", "st", 84.5)]
    )
    for k, size in enumerate(("S", "M", "L", "XL"))
)  # fmt: skip
_METHODS = ("KLARNA", "CARD", "INVOICE", "SWISH")


def order_body(n: int) -> dict[str, Any]:
    """A realistic OrderRequest (reference section 11): 2 to 6 goods lines, a freight line,
    buyer, billing and delivery addresses, a payment; the same `n` gives the same order."""
    rng = random.Random(n)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    zip_code, city = rng.choice(_CITIES)
    address = {"Line1": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}", "ZipCode": zip_code,
               "City": city, "Country": "SE"}  # fmt: skip
    items: list[dict[str, Any]] = []
    for line, (part, text, unit, price) in enumerate(rng.sample(_GOODS, rng.randint(2, 6)), 1):
        discount = rng.choice((0, 0, 0, 10.0))
        items.append(
            {"LineNo": line, "PartNo": part, "ErpPartNo": part, "Description": text,
             "Quantity": rng.randint(1, 12), "UnitOfMeasure": unit, "UnitPrice": price,
             "UnitPriceOriginal": price, "Discount": discount, "UnitVat": round(price * 0.25, 2),
             "VatRate": 25, "Type": "ErpStandard", "TypeGroup": "Physical"}
        )  # fmt: skip
    items.append(
        {"LineNo": len(items) + 1, "PartNo": "FREIGHT", "Description": "Frakt", "Quantity": 1,
         "UnitPrice": 39.2, "UnitVat": 9.8, "VatRate": 25, "Type": "Freight", "TypeGroup": "Fee"}
    )  # fmt: skip
    # A line's Discount is already inside its UnitPrice (reference section 11): what is paid is
    # Quantity x (UnitPrice + UnitVat) per line, each rounded to cents.
    total = sum(_cents(i["Quantity"] * i["UnitPrice"]) + _cents(i["Quantity"] * i["UnitVat"])
                for i in items)  # fmt: skip
    person = {"CustomerCode": f"C-{n:07d}", "FirstName": first, "LastName": last,
              "Email": f"kund{n}@example.com", "CellPhone": f"+4670{n % 10_000_000:07d}"}  # fmt: skip
    sell_to: dict[str, Any] = {"Person": person}
    if n % 3 == 0:
        sell_to["Company"] = {"Code": f"K-{n % 9000 + 1000}", "Name": f"{last} Bygg AB",
                              "VatNo": f"SE{_orgnr(n)}01"}  # fmt: skip
    return {
        "Header": {"ApplicationKey": "00000000-0000-0000-0000-000000000000"},
        "ClientOrderRef": str(REF_BASE + n),
        "SubmitDate": f"2026-11-20T{n // 60 % 24:02d}:{n % 60:02d}:00",
        "CurrencyCode": "SEK", "OrderType": 1, "Source": "WEB", "DoHold": False,
        "CustomerOrderRef": f"PO-{n}", "CustomerOrderComment": "Ring på porttelefonen",
        "SellTo": sell_to,
        "BillTo": {"Person": {"FirstName": first, "LastName": last, "Address": address}},
        "ShipTo": {"Person": {"FirstName": first, "LastName": last, "Address": address}},
        "ShippingAdvice": {"DeliveryMethodCode": "POSTNORD", "IsFeeChargedOnce": True},
        "Payments": [{"PaymentCode": 90_000 + n, "PaymentMethodCode": rng.choice(_METHODS),
                      "PaymentRef": f"psp-{n}", "Amount": float(total), "CurrencyCode": "SEK"}],
        "Items": items,
        "AdditionalInfo": [{"Code2": "Channel", "Value": "B2B" if n % 3 == 0 else "B2C"}],
    }  # fmt: skip


def _cents(value: float) -> Decimal:
    """An amount rounded half up to cents, as the order checks add them."""
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _orgnr(n: int) -> str:
    """A Swedish organisation number (55 + 7 digits + Luhn check digit), as PEPPOL checks it."""
    body = f"55{n % 10**7:07d}"
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return f"{body}{(10 - total % 10) % 10}"


def order_bytes(n: int) -> bytes:
    """The body as Norce sends it: UTF-8 JSON."""
    return json.dumps(order_body(n), ensure_ascii=False).encode("utf-8")


# -- homes and processes -------------------------------------------------------------------


def _home(work: Path, extra: str = "") -> Path:
    """A fresh home with the shipped order layouts and a receiver on a password from the env."""
    if work.exists():
        shutil.rmtree(work)
    (work / "schemas" / "orders").mkdir(parents=True)
    for layout in (SHIPPED / "orders").glob("*.toml"):
        shutil.copy(layout, work / "schemas" / "orders" / layout.name)
    (work / "etl.toml").write_text(
        'home = "."\nschemas_dir = "schemas"\n'
        f'[receiver]\nusername = "{USER}"\npassword_env = "BENCH_RECEIVER_PASSWORD"\n{extra}',
        encoding="utf-8",
    )
    return work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A server process on 127.0.0.1 and its port."""

    process: subprocess.Popen[bytes]
    port: int

    def peak_mb(self) -> float:
        """The process's peak RSS so far (VmHWM)."""
        return _vm_hwm(Path(f"/proc/{self.process.pid}/status"))

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        """SIGTERM (uvicorn finishes requests in flight); its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def _serve(argv: list[str], port: int, log: Path) -> Served:
    """Start a server, logging to a file as a service would; return once it listens."""
    env = {**os.environ, "BENCH_RECEIVER_PASSWORD": PASSWORD}
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=log.parent, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Served(process, port)
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {log.read_text(errors='replace')}") from None
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"server did not start listening: {argv}")


def _vm_hwm(status: Path) -> float:
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM); ru_maxrss would count the forking parent."""
    found = _vm_hwm(Path("/proc/self/status"))
    return found or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- part 1: the receiver ------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One load run: wall time, every answer time, what was not OK, and what it cost."""

    seconds: float
    latencies: list[float]
    failures: list[str]
    server_cpu: float = 0.0  # CPU seconds of the server during the timed load
    client_cpu: float = 0.0  # CPU seconds of the senders (this process) during the timed load
    peak_mb: float = 0.0

    def figures(self) -> dict[str, float]:
        """orders/s, p50/p95/p99 in ms, server CPU ms per order, peak RSS."""
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return {
            "rate": len(self.latencies) / self.seconds,
            "p50": cuts[49] * 1000,
            "p95": cuts[94] * 1000,
            "p99": cuts[98] * 1000,
            "cpu": self.server_cpu / len(self.latencies) * 1000,
            "client": self.client_cpu / self.seconds,
            "peak": self.peak_mb,
        }


async def _load(url: str, bodies: list[bytes], warmup: list[bytes], server: Served) -> Load:
    """One sender per warm-up body; each posts from the shared list until it is empty."""
    latencies = [0.0] * len(bodies)
    failures: list[str] = []
    queue: Iterator[tuple[int, bytes]] = iter(enumerate(bodies))
    headers = {"content-type": "application/json"}

    async def post(client: httpx.AsyncClient, body: bytes) -> str | None:
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if answer.status_code == 200 and answer.json().get("StatusCode") == "OK":
            return None
        return f"HTTP {answer.status_code}: {answer.text[:200]}"

    async def sender(client: httpx.AsyncClient) -> None:
        for i, body in queue:  # one event loop: next() on the shared iterator is never torn
            started = time.perf_counter()
            problem = await post(client, body)
            latencies[i] = time.perf_counter() - started
            if problem:
                failures.append(problem)

    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(auth=(USER, PASSWORD), timeout=30, limits=limits) for _ in warmup]
    try:
        # Connections open and the server's worker threads start before the clock does.
        warm = await asyncio.gather(*(post(c, b) for c, b in zip(clients, warmup, strict=True)))
        failures += [w for w in warm if w]
        cpu, own, started = server.cpu_seconds(), _own_cpu(), time.perf_counter()
        await asyncio.gather(*(sender(c) for c in clients))
        seconds = time.perf_counter() - started
        cpu, own = server.cpu_seconds() - cpu, _own_cpu() - own
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return Load(seconds, latencies, failures, cpu, own, server.peak_mb())


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _bare_receiver(port: int) -> None:
    """The baseline server: the same uvicorn settings, the same answer, no auth, no disk."""
    import uvicorn

    from etl.to_erp.orders.inbound import ok

    body = json.dumps(ok("queued").body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="info",
                            timeout_graceful_shutdown=10)  # fmt: skip
    uvicorn.Server(config).run()


def _load_round(argv: list[str], port: int, log: Path, bodies: list[bytes], senders: int) -> Load:
    """Serve, warm up, load, stop."""
    served = _serve(argv, port, log)
    warmup = [order_bytes(len(bodies) + k) for k in range(senders)]
    try:
        load = asyncio.run(_load(f"http://127.0.0.1:{port}/orders", bodies, warmup, served))
    finally:
        code = served.stop()
    if code not in (0, -signal.SIGTERM):  # uvicorn re-raises SIGTERM after a clean shutdown
        raise SystemExit(f"{argv} exited with {code}: see {log}")
    return load


def _check_once(home: Path, bodies: list[bytes]) -> list[str]:
    """Every order in the ledger once, its spool file byte for byte as sent, nothing else."""
    from etl.to_erp.orders.book import OrderBook

    sent = {json.loads(b)["ClientOrderRef"]: hashlib.sha256(b).hexdigest() for b in bodies}
    files = {p.name: p for p in (home / "state" / "spool" / "orders").iterdir()}
    book = OrderBook(home / "state" / "ledger.sqlite")
    try:
        rows = book.orders(limit=10**9)
    finally:
        book.close()
    with sqlite3.connect(home / "state" / "ledger.sqlite") as db:
        variants = db.execute("SELECT COUNT(*) FROM order_variants").fetchone()[0]
    problems = (
        [f"{len(rows)} of {len(sent)} orders in the ledger"] if len(rows) != len(sent) else []
    )
    problems += [f"{variants} bodies recorded as variants"] if variants else []
    for row in rows:
        path = files.pop(row.spool_name, None)
        if row.ref not in sent or row.sha256 != sent[row.ref] or row.state != "spooled":
            problems.append(f"order {row.ref}: ledger row {row} is not the order sent")
        elif path is None or hashlib.sha256(path.read_bytes()).hexdigest() != sent[row.ref]:
            problems.append(f"order {row.ref}: spool file missing or not the bytes sent")
    if files:
        problems.append(f"{len(files)} spool files no ledger row names, e.g. {min(files)}")
    return problems


@dataclass(frozen=True)
class ReceiverFigures:
    """Medians over the rounds of Load.figures(), bare and ours; non-OK answers summed."""

    bare: dict[str, float]
    ours: dict[str, float]
    non_ok: tuple[int, int]
    problems: list[str]
    failures: list[str]
    body_bytes: int


def _medians(loads: list[Load]) -> dict[str, float]:
    figures = [x.figures() for x in loads]
    return {k: statistics.median(f[k] for f in figures) for k in figures[0]}


def measure_receiver(work: Path, requests: int, senders: int, repeat: int) -> ReceiverFigures:
    """Paired rounds: bare uvicorn, then our receiver in a fresh home, then the exactly-once check."""
    bodies = [order_bytes(n) for n in range(requests)]
    warmup = [order_bytes(requests + k) for k in range(senders)]
    bares, ours, problems = [], [], []
    work.mkdir(parents=True, exist_ok=True)
    for round_no in range(1, repeat + 1):
        port = _free_port()
        argv = [sys.executable, __file__, "--worker", "bare-receiver", str(port)]
        bares.append(_load_round(argv, port, work / "bare.log", bodies, senders))
        port = _free_port()
        home = _home(work / "home", f"port = {port}\n")
        argv = [sys.executable, str(REPO / "run.py"), "--config", str(home / "etl.toml"), "receive"]
        ours.append(_load_round(argv, port, home / "receiver.log", bodies, senders))
        problems += [f"round {round_no}: {x}" for x in _check_once(home, bodies + warmup)]
    return ReceiverFigures(
        bare=_medians(bares),
        ours=_medians(ours),
        non_ok=(sum(len(x.failures) for x in bares), sum(len(x.failures) for x in ours)),
        problems=problems,
        failures=sorted({f for x in bares + ours for f in x.failures}),
        body_bytes=int(statistics.median(len(b) for b in bodies)),
    )


def report_receiver(f: ReceiverFigures, requests: int, senders: int) -> str:
    """The receiver's figures as printed lines."""
    import uvicorn

    def row(label: str, m: dict[str, float], non_ok: int) -> str:
        return (
            f"  {label:<26} {m['rate']:8.0f} {m['p50']:7.1f} {m['p95']:7.1f} {m['p99']:7.1f} "
            f"{m['cpu']:8.2f} {non_ok:6d} {m['peak']:6.0f} MB"
        )

    def ratio(key: str) -> str:
        return f"{f.ours[key] / f.bare[key]:{7 if key != 'rate' else 8}.2f}x"

    p99 = f.ours["p99"]
    verdict = "met" if p99 <= P99_TARGET_MS else "NOT met"
    if f.non_ok[1] or f.problems:  # a fast error answer is no answer: the target needs all OK
        verdict = f"NOT met: {f.non_ok[1]} answers were not OK"
    scale = "" if senders == 20 else f" [stated for 20 senders; this run has {senders}]"
    if f.problems:
        once = "NOT exactly once: " + "; ".join(f.problems[:5])
    else:
        once = "every order in the spool and the ledger exactly once, bytes as sent"
    lines = [
        f"receiver: `run.py receive` on uvicorn {uvicorn.__version__} (h11, asyncio), 127.0.0.1; "
        f"{requests} distinct orders (JSON, median {f.body_bytes} bytes) from {senders} "
        "concurrent senders (asyncio, one keep-alive httpx client each, Basic auth), after "
        f"{senders} warm-up orders",
        f"  {'':<26} {'orders/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'CPU ms/o':>8} "
        f"{'non-OK':>6} {'peak RSS':>9}",
        row("bare uvicorn (same answer)", f.bare, f.non_ok[0]),
        row("our receiver", f.ours, f.non_ok[1]),
        f"  {'ours / bare':<26} {ratio('rate')} {ratio('p50')} {ratio('p95')} {ratio('p99')} "
        f"{ratio('cpu')}",
        f"  the senders share the machine: they used {f.ours['client']:.0%} of a core (bare: "
        f"{f.bare['client']:.0%}); CPU ms/o is the server's own CPU time per order",
        "  each order's body is written to the spool and fsync'd (file and folder), and "
        "committed to the ledger (SQLite WAL, synchronous=FULL), before the OK",
        f"  check: {once}",
    ]
    lines += [f"  non-OK answer: {x}" for x in f.failures[:3]]
    lines.append(
        f"  DESIGN target: p99 <= {P99_TARGET_MS:.0f} ms under 20 concurrent senders, spool "
        f"fsync'd: {p99:.1f} ms ({verdict}){scale}"
    )
    return "\n".join(lines)


# -- part 2: the export --------------------------------------------------------------------

LAYOUTS = ("erp_csv", "peppol_order")


def _spool(home: Path, orders: int) -> float:
    """Take `orders` bodies into the home's spool and book as the receiver does; seconds."""
    from etl.config.settings import load_settings
    from etl.to_erp.orders.inbound import open_inbound

    inbound = open_inbound(load_settings(home / "etl.toml", {"BENCH_RECEIVER_PASSWORD": PASSWORD}))
    started = time.perf_counter()
    try:
        for n in range(orders):
            answer = inbound.accept(order_bytes(n), "application/json", "push")
            assert answer.status == 200 and answer.body["Description"] == "queued", answer
    finally:
        inbound.book.close()
    return time.perf_counter() - started


def _export_worker(home: Path, layout_name: str, erp_root: Path | None) -> dict[str, Any]:
    """The export job for one layout, run until nothing is due, as scheduler ticks would.

    With `erp_root`, the ERP takes every file out of the layout's folder after each run
    (into `<erp_root>/collected/<layout>/`, untimed), as a drop folder is meant to work.
    """
    from etl.config.settings import load_settings
    from etl.runtime import Runtime
    from etl.to_erp.files.layouts import load_layouts
    from etl.to_erp.orders.jobs import describe_export, export_once

    settings = load_settings(home / "etl.toml", {"BENCH_RECEIVER_PASSWORD": PASSWORD})
    layout = load_layouts(settings)[layout_name]
    rt = Runtime.open(settings)
    seconds, runs, files, orders = 0.0, 0, 0, 0
    try:
        while True:
            started = time.perf_counter()
            summary = export_once(rt, layout)
            seconds += time.perf_counter() - started
            runs += 1
            if summary.error or summary.stuck or summary.held or summary.skipped:
                raise SystemExit(describe_export(summary))
            if not summary.files:
                break
            files, orders = files + len(summary.files), orders + summary.orders
            if erp_root is not None:
                _collect(erp_root / layout.target.folder, erp_root / "collected" / layout_name)
    finally:
        rt.close()
    return {"seconds": seconds, "runs": runs, "files": files, "orders": orders}


def _collect(folder: Path, into: Path) -> None:
    """The ERP's side: take every file out of its drop folder."""
    into.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        path.replace(into / path.name)


def _paramiko_worker(source: Path, port: int, known_hosts: Path, key: Path, dest: str) -> None:
    """The baseline: every file in `source` put to `dest` over one pinned connection."""
    import paramiko

    files = sorted(p for p in source.iterdir() if p.is_file())
    started = time.perf_counter()
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port, "etl", key_filename=str(key), allow_agent=False,
                   look_for_keys=False)  # fmt: skip
    sftp = client.open_sftp()
    sftp.mkdir(dest)
    for path in files:
        sftp.put(str(path), f"{dest}/{path.name}")
    client.close()
    print(json.dumps({"seconds": time.perf_counter() - started, "files": len(files),
                      "peak_mb": _peak_rss_mb()}))  # fmt: skip


def _spawn(*args: str) -> dict[str, Any]:
    """Run one worker in a fresh process; its JSON line."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _on_server(folder: Path, layout: str, refs: set[str]) -> tuple[int, int, list[str]]:
    """Data files and bytes the ERP got, and what is wrong: each order must be there once."""
    data = sorted(p for p in folder.iterdir() if not p.name.endswith((".done", ".part")))
    seen: list[str] = []
    for path in data:
        if layout == "erp_csv":
            lines = path.read_bytes().decode("cp1252").split("\r\n")
            seen += [line.split(";")[1] for line in lines if line.startswith("H;")]
        else:
            seen.append(path.read_text(encoding="utf-8").split("<cbc:ID>", 1)[1].split("<")[0])
    problems = []
    if len(seen) != len(refs) or set(seen) != refs:
        problems.append(
            f"{len(seen)} orders in the files ({len(set(seen))} distinct), {len(refs)} spooled"
        )
    return len(data), sum(p.stat().st_size for p in data), problems


@dataclass(frozen=True)
class ExportFigures:
    """One layout's medians (seconds, peak MB), ours and bare, and what went up."""

    layout: str
    ours: tuple[float, float]
    bare: tuple[float, float]
    runs: int
    files: int
    uploaded: int
    mb: float
    problems: list[str]
    rounds: list[tuple[float, float]]  # per round: our seconds, the bare put's seconds


def measure_export(
    work: Path, orders: int, layouts: list[str], repeat: int, pickup: bool
) -> tuple[float, list[ExportFigures]]:
    """Spool once, then per layout and round: our job on a copy of that home, bare paramiko.

    Each round has a home and a folder on the server of its own, and nothing (the template
    either) is deleted before every round is measured: where the file system has no journal
    (ext4 as the bench VM mounts it), a file created in the minute or more after many were
    deleted costs the kernel a search past each inode freed meanwhile (`recently_deleted`), so
    a round that deleted the one before it paid for that (bench/README.md, "Sixth round").
    """
    shutil.rmtree(work, ignore_errors=True)  # what a killed run left; a finished one leaves none
    try:
        template = _home(work / "template")
        spool_seconds = _spool(template, orders)
        refs = {str(REF_BASE + n) for n in range(orders)}
        root, homes = work / "sftp", work / "rounds"
        root.mkdir()
        homes.mkdir()
        return spool_seconds, _export_rounds(template, root, homes, refs, layouts, repeat, pickup)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_rounds(
    template: Path,
    root: Path,
    homes: Path,
    refs: set[str],
    layouts: list[str],
    repeat: int,
    pickup: bool,
) -> list[ExportFigures]:
    """Per layout, `repeat` paired rounds against the test SFTP server serving `root`."""
    from tests.support.sftp_server import run_sftp_server

    figures = []
    with run_sftp_server(root, template.parent / "sftp-keys") as server:
        with (template / "etl.toml").open("a", encoding="utf-8") as settings:
            settings.write(
                f'[stores.erp]\nkind = "sftp"\nhost = "127.0.0.1"\nport = {server.port}\n'
                f'username = "{server.username}"\nknown_hosts = "{server.known_hosts_path}"\n'
                f'key_file = "{server.client_key_path}"\ntimeout_seconds = 60\n'
            )
        keys = (str(server.port), str(server.known_hosts_path), str(server.client_key_path))
        for layout in layouts:
            ours, bares, checks = [], [], []
            for n in range(repeat):
                tag = f"{layout}-{n}"
                home, served = homes / tag, root / tag
                shutil.copytree(template, home)
                served.mkdir()
                with (home / "etl.toml").open("a", encoding="utf-8") as settings:
                    settings.write(f'root = "{tag}"\n')  # [stores.erp]: the round's folder
                ours.append(_spawn("export", str(home), layout, str(served) if pickup else "-"))
                folder = served / ("collected/" + layout if pickup else _erp_folder(home, layout))
                checks.append(_on_server(folder, layout, refs))
                bares.append(_spawn("paramiko", str(folder), *keys, f"{tag}/bare"))
            files, size, _ = checks[-1]
            figures.append(
                ExportFigures(
                    layout=layout,
                    ours=_timing(ours),
                    bare=_timing(bares),
                    runs=int(ours[-1]["runs"]),
                    files=files,
                    uploaded=int(bares[-1]["files"]),
                    mb=size / 1e6,
                    problems=[p for c in checks for p in c[2]],
                    rounds=[
                        (float(o["seconds"]), float(b["seconds"]))
                        for o, b in zip(ours, bares, strict=True)
                    ],
                )
            )
    return figures


def _erp_folder(home: Path, layout: str) -> str:
    """The layout's folder on the ERP's server."""
    from etl.config.settings import load_settings
    from etl.to_erp.files.layouts import load_layouts

    settings = load_settings(home / "etl.toml", {"BENCH_RECEIVER_PASSWORD": PASSWORD})
    return load_layouts(settings)[layout].target.folder


def _timing(results: list[dict[str, Any]]) -> tuple[float, float]:
    return (
        statistics.median(float(x["seconds"]) for x in results),
        statistics.median(float(x["peak_mb"]) for x in results),
    )


def report_export(
    spool_seconds: float, orders: int, pickup: bool, figures: list[ExportFigures]
) -> str:
    """The export figures as printed lines."""
    if pickup:
        erp = "the ERP takes the files out of its folder after every job run (untimed)"
    else:
        erp = "the files stay in the ERP's folder (--pickup never)"
    lines = [
        f"export: {orders} orders spooled first, one at a time as the receiver does (fsync'd, "
        f"a FULL commit each): {spool_seconds:.1f} s, {orders / spool_seconds:.0f} orders/s "
        "(not timed below)",
        "  the export job (`export_once`, run until nothing is due) in a fresh process, to "
        f"asyncssh SFTP on 127.0.0.1 (host key pinned); {erp}",
        f"  {'':<30} {'seconds':>8} {'orders/s':>9} {'ms/file':>8} {'ratio':>6} {'peak RSS':>9}",
    ]
    for f in figures:
        per = "one file per batch" if f.layout == "erp_csv" else "one file per order"
        if f.problems:
            check = "NOT exactly once: " + "; ".join(f.problems[:5])
        else:
            check = "every order on the server exactly once"
        lines += [
            f"  {f.layout} ({per}): {f.files} data files, {f.uploaded} files uploaded in all "
            f"(with done-markers), {f.mb:.1f} MB; {f.runs} job runs",
            _export_row("bare paramiko put", f.bare, orders, f.uploaded, 1.0),
            _export_row(
                "export job (render + upload)", f.ours, orders, f.uploaded, f.ours[0] / f.bare[0]
            ),
            f"    check: {check}",
        ]
    return "\n".join(lines)


def _export_row(
    label: str, timing: tuple[float, float], orders: int, files: int, ratio: float
) -> str:
    seconds, peak = timing
    return (
        f"    {label:<28} {seconds:8.2f} {orders / seconds:9.0f} {seconds / files * 1000:8.2f} "
        f"{ratio:5.2f}x {peak:6.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="orders posted to the receiver")
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders")
    parser.add_argument("--repeat", type=int, default=3, help="receiver rounds")
    parser.add_argument("--orders", type=int, default=10_000, help="orders rendered and uploaded")
    parser.add_argument("--export-repeat", type=int, default=1, help="export rounds per layout")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"of: {', '.join(LAYOUTS)}")
    parser.add_argument(
        "--pickup",
        choices=["each-run", "never"],
        default="each-run",
        help="when the ERP takes files out of its folder (never: they pile up)",
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"of: {', '.join(PARTS)}")
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "orders")
    args = parser.parse_args()
    parts, layouts = args.parts.split(","), args.layouts.split(",")
    if set(parts) - set(PARTS):
        parser.error(f"--parts: choose from {', '.join(PARTS)}")
    if set(layouts) - set(LAYOUTS):
        parser.error(f"--layouts: choose from {', '.join(LAYOUTS)}")
    print(
        f"requests={args.requests} senders={args.senders} repeat={args.repeat} "
        f"orders={args.orders} export-repeat={args.export_repeat} pickup={args.pickup} "
        "(medians of paired rounds; ratios to the baseline)",
        flush=True,
    )
    failed = False
    if "receiver" in parts:
        rf = measure_receiver(args.data / "receiver", args.requests, args.senders, args.repeat)
        print(report_receiver(rf, args.requests, args.senders), flush=True)
        failed |= bool(rf.problems) or any(rf.non_ok)
    if "export" in parts:
        pickup = args.pickup == "each-run"
        seconds, figures = measure_export(
            args.data / "export", args.orders, layouts, args.export_repeat, pickup
        )
        print(report_export(seconds, args.orders, pickup, figures), flush=True)
        failed |= any(f.problems for f in figures)
    sys.exit(1 if failed else 0)


def _worker(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "bare-receiver":
        _bare_receiver(int(rest[0]))
    elif kind == "export":
        home, layout, erp_root = rest
        result = _export_worker(Path(home), layout, None if erp_root == "-" else Path(erp_root))
        print(json.dumps({**result, "peak_mb": _peak_rss_mb()}))
    else:
        source, port, known_hosts, key, dest = rest
        _paramiko_worker(Path(source), int(port), Path(known_hosts), Path(key), dest)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
    else:
        main()

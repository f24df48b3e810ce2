"""Benchmark of the customers feed (and the companies feed reading the same file).

Generates a flat customer export as the ERP writes it (`kunder_*.csv`: Windows-1252, ';',
company columns repeated on each contact's row): N customers, about N/5 companies with valid
Swedish organisation numbers (Luhn) and about 5 contacts each, a tenth private customers. Then
the same export a day later with about 1% of the customers in the delta: names, e-mail
addresses, phones and addresses changed, company names and addresses changed (an address
change reaches every contact of the company), a few customers and companies new, a few gone
(within the deletion guard). Each round, in a fresh home: the prices feed and the first
export are run through the pipeline in file mode (the snapshots; not timed), then, in fresh
subprocesses, a bare `polars.read_csv` of the new file (cp1252, ';', every cell as text) and
the whole `once` run of the customers feed on it (companies first, then customers: read,
validate, diff, payload files, archive, report, commit). Figures are medians over --repeat
rounds, as ratios to the bare read. The delta counts and the items written to the outbox must
equal the generator's own comparison of the two files, or the bench fails.

    python bench/customers.py --customers 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from masterdata import Timing, _home, _median, _peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COLUMNS = [
    "Kundnr", "Förnamn", "Efternamn", "E-post", "Telefon", "Mobil", "Personnr", "Företagsnr",
    "Företag", "Orgnr", "Momsnr", "Prislista", "Adress", "Adress2", "Postnr", "Ort", "Land",
]  # fmt: skip
ADDRESS = ["Adress", "Adress2", "Postnr", "Ort", "Land"]
# What each feed maps (schemas/customers.toml, schemas/companies.toml): the generator's own diff.
CUSTOMER_COLUMNS = [c for c in COLUMNS if c not in ("Företag", "Orgnr", "Momsnr", "Prislista")]
COMPANY_COLUMNS = ["Företagsnr", "Företag", "Orgnr", "Momsnr", "Prislista", *ADDRESS]
PRICE_LISTS = ["STD-SEK", *(f"AVT-{n:02d}" for n in range(20))]  # agreement lists

FIRST = ["Anna", "Björn", "Cecilia", "Dag", "Eva", "Filip", "Greta", "Håkan", "Ingrid", "Johan",
         "Karin", "Lars", "Märta", "Nils", "Olof", "Pia", "Rolf", "Sofia", "Tove", "Ulf", "Åsa",
         "Örjan", "Göran", "Linnéa"]  # fmt: skip
LAST = ["Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Fors", "Gran", "Holm", "Isaksson",
        "Johansson", "Lindqvist", "Nyström", "Öberg", "Åkesson", "Sjöberg", "Lundström",
        "Bäckström", "Wästberg", "Söderlund", "Hägg"]  # fmt: skip
TRADES = ["Byggmästarna", "Snickeri", "Takläggarna", "Elinstallation", "VVS-Service",
          "Målericentralen", "Golvläggarna", "Plåtslageri", "Mark & Betong", "Ventilation"]  # fmt: skip
REGIONS = ["Norr", "Syd", "Väst", "Öst", "i Stockholm", "i Göteborg", "i Malmö", "Mälardalen",
           "Bergslagen", "Norrland", "på Gotland"]  # fmt: skip
STREETS = ["Storgatan", "Kungsgatan", "Industrivägen", "Verkstadsgatan", "Hamngatan",
           "Järnvägsgatan", "Skolvägen", "Björkvägen", "Ekvägen", "Tallvägen"]  # fmt: skip
CITIES = [("Stockholm", "111"), ("Göteborg", "411"), ("Malmö", "211"), ("Uppsala", "753"),
          ("Västerås", "722"), ("Örebro", "702"), ("Linköping", "582"), ("Umeå", "902"),
          ("Luleå", "972"), ("Jönköping", "553")]  # fmt: skip
ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "Å": "a", "Ä": "a", "Ö": "o"})

Record = dict[str, str]


def org_no(k: int) -> str:
    """A Swedish organisation number (an aktiebolag's 556 series) with its Luhn check digit."""
    body = f"556{k:06d}"
    total = sum(p // 10 + p % 10 for p in (int(c) * (2 - i % 2) for i, c in enumerate(body)))
    return f"{body[:6]}-{body[6:]}{(10 - total % 10) % 10}"


def _address(n: int, rng: random.Random) -> Record:
    city, zip_prefix = CITIES[n % len(CITIES)]
    return {
        "Adress": f"{STREETS[n % len(STREETS)]} {n % 97 + 1}",
        "Adress2": f"Box {n % 900 + 100}" if n % 7 == 0 else "",
        "Postnr": f"{zip_prefix} {rng.randrange(10, 99)}",
        "Ort": city,
        "Land": "SE",
    }


def _company(k: int, rng: random.Random) -> Record:
    org = org_no(k)
    return {
        "Företagsnr": f"F-{k:06d}",
        "Företag": f"{TRADES[k % len(TRADES)]} {REGIONS[k // len(TRADES) % len(REGIONS)]} AB",
        "Orgnr": org,
        "Momsnr": f"SE{org.replace('-', '')}01",
        "Prislista": PRICE_LISTS[0] if k % 10 < 7 else PRICE_LISTS[1 + k % 20],
        **_address(k, rng),
    }


def _person(i: int, company: str | None, rng: random.Random) -> Record:
    first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
    domain = f"{company.lower()}.example.se" if company else "example.se"
    person = {
        "Kundnr": f"K-{i:07d}",
        "Förnamn": first,
        "Efternamn": last,
        "E-post": f"{first}.{last}.{i}@{domain}".lower().translate(ASCII),
        "Telefon": f"08-{rng.randrange(100, 999)} {rng.randrange(10, 99)} {i % 90 + 10}"
        if company
        else "",
        "Mobil": f"070-{rng.randrange(100, 999)} {i % 90 + 10} {rng.randrange(10, 99)}"
        if i % 3
        else "",
        "Personnr": ""
        if company
        else f"19{50 + i % 50}0{i % 9 + 1}{i % 18 + 10}-{i % 9000 + 1000}",
        "Företagsnr": company or "",
    }
    return person if company else {**person, **_address(i, rng)}


@dataclass
class Export:
    """One version of the export: companies by code, people by code (contacts name a company)."""

    companies: dict[str, Record]
    people: dict[str, Record]

    def rows(self) -> list[Record]:
        """The file's rows: each person, with its company's columns when it is a contact."""
        blank = dict.fromkeys(COLUMNS, "")
        return [
            {**blank, **p, **(self.companies[p["Företagsnr"]] if p["Företagsnr"] else {})}
            for p in self.people.values()
        ]

    def write(self, path: Path) -> None:
        """As the ERP writes it: Windows-1252, ';', CRLF, a header row, no quoting needed."""
        lines = [";".join(COLUMNS), *(";".join(r[c] for c in COLUMNS) for r in self.rows())]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def first_export(customers: int, rng: random.Random) -> Export:
    """N people: every tenth a private customer, the rest contacts of N/5 companies in turn."""
    n_companies = max(1, customers // 5)
    companies = {c["Företagsnr"]: c for c in (_company(k, rng) for k in range(n_companies))}
    codes = list(companies)
    contacts = customers - customers // 10
    people, contact = {}, 0
    for i in range(customers):
        company = None
        if i % 10 != 9:
            company, contact = codes[contact * n_companies // contacts], contact + 1
        person = _person(i, company, rng)
        people[person["Kundnr"]] = person
    return Export(companies, people)


def next_export(old: Export, rng: random.Random) -> Export:
    """The export a day later: about 1% of the customers added, changed or removed."""
    n = len(old.people)
    companies, people = dict(old.companies), dict(old.people)
    few, few_companies = max(2, n // 2000), max(1, len(companies) // 10000)
    members: dict[str, list[str]] = {}
    for code, p in people.items():
        if p["Företagsnr"]:
            members.setdefault(p["Företagsnr"], []).append(code)
    shuffled = rng.sample(sorted(companies), len(companies))
    gone = shuffled[:few_companies]  # closed, with their contacts
    renamed = shuffled[few_companies:][: len(shuffled) // 200]
    moved = shuffled[few_companies + len(renamed) :][: len(shuffled) // 400]
    for company in gone:
        del companies[company]
        for code in members[company]:
            del people[code]
    for company in renamed:
        companies[company] = {
            **companies[company],
            "Företag": "Nya " + companies[company]["Företag"],
        }
    for company in moved:  # the address is on every contact's row: each contact changes too
        companies[company] = {**companies[company], **_address(rng.randrange(10**6), rng)}
    untouched = set(gone) | set(moved)
    pool = [
        c
        for c in rng.sample(sorted(people), len(people))
        if people[c]["Företagsnr"] not in untouched
    ]
    leaving = _leaving(pool, people, members, few)
    for code in leaving:
        del people[code]
    pool = [c for c in pool if c in people]
    # Arrivals: private customers, contacts of existing companies, new companies with contacts.
    number = iter(range(n + 1000, n + 1000 + few + 3 * few_companies))
    for j in range(few):
        employer = people[pool[j]]["Företagsnr"] if j % 2 else ""
        person = _person(next(number), employer or None, rng)
        people[person["Kundnr"]] = person
    for j in range(few_companies):
        founded = _company(len(old.companies) + 1000 + j, rng)
        companies[founded["Företagsnr"]] = founded
        for _ in range(3):
            person = _person(next(number), founded["Företagsnr"], rng)
            people[person["Kundnr"]] = person
    # The rest of the 1%: people's own changes (name, e-mail, phone, address in turn).
    removed = len(old.people) - (len(people) - few - 3 * few_companies)
    others = few + 3 * few_companies + removed + sum(len(members[c]) for c in moved)
    for turn, code in enumerate(pool[few : few + max(0, n // 100 - others)]):
        people[code] = _change(people[code], turn, rng)
    return Export(companies, people)


def _leaving(
    pool: list[str], people: dict[str, Record], members: dict[str, list[str]], few: int
) -> list[str]:
    """A few people who leave: private customers, and one contact each of companies that keep
    at least one other (a company with no contact left would leave the file too)."""
    private = [c for c in pool if not people[c]["Företagsnr"]][: few // 2]
    contacts: dict[str, str] = {}
    for code in pool:
        company = people[code]["Företagsnr"]
        if len(contacts) < few - few // 2 and len(members.get(company, ())) > 1:
            contacts.setdefault(company, code)
    return private + list(contacts.values())


def _change(person: Record, turn: int, rng: random.Random) -> Record:
    kind = turn % 4
    if kind == 0:  # married, or a typo fixed
        return {**person, "Efternamn": LAST[(LAST.index(person["Efternamn"]) + 1) % len(LAST)]}
    if kind == 1:
        local, _, domain = person["E-post"].partition("@")
        return {**person, "E-post": f"{local}.ny@{domain}"}
    if kind == 2:
        field = "Telefon" if person["Företagsnr"] else "Mobil"
        return {**person, field: f"073-{rng.randrange(100, 999)} {rng.randrange(10, 99)} 00"}
    if person["Företagsnr"]:  # a contact's address is the company's: change the mobile instead
        return {**person, "Mobil": f"076-{rng.randrange(100, 999)} 11 {rng.randrange(10, 99)}"}
    return {**person, **_address(rng.randrange(10**6), rng)}


def expected_delta(old: Export, new: Export) -> dict[str, dict[str, int]]:
    """Adds, changes and removals per feed, by comparing the two files' mapped columns."""

    def table(rows: list[Record], key: str, columns: list[str]) -> dict[str, tuple[str, ...]]:
        return {r[key]: tuple(r[c] for c in columns) for r in rows if r[key]}

    out = {}
    for feed, key, columns in (
        ("companies", "Företagsnr", COMPANY_COLUMNS),
        ("customers", "Kundnr", CUSTOMER_COLUMNS),
    ):
        a, b = table(old.rows(), key, columns), table(new.rows(), key, columns)
        out[feed] = {
            "adds": len(b.keys() - a.keys()),
            "changes": sum(a[k] != b[k] for k in a.keys() & b.keys()),
            "removals": len(a.keys() - b.keys()),
        }
    return out


def write_prices(path: Path) -> None:
    """The prices feed's export: one article on each price list the companies name."""
    rows = [f"100123,{code},SEK,79.20,31.50,99.00" for code in PRICE_LISTS]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "ItemNo,PriceList,Currency,Price,PurchaseCost,RRP\r\n" + "\r\n".join(rows) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())


def generate(data: Path, customers: int) -> dict[str, dict[str, int]]:
    """Write both exports and the prices file (unless there); return the expected delta."""
    # Any edit of this file writes the data again: a few seconds, and never a stale file.
    stamp_text = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    stamp, expected = data / ".customers.stamp", data / "expected.json"
    if stamp.exists() and stamp.read_text() == stamp_text and expected.exists():
        result: dict[str, dict[str, int]] = json.loads(expected.read_text())
        return result
    rng = random.Random(11)
    old = first_export(customers, rng)
    new = next_export(old, rng)
    old.write(data / "customers" / "kunder_20261120.csv")
    new.write(data / "customers" / "kunder_20261121.csv")
    write_prices(data / "prices" / "prices_20261120.csv")
    delta = expected_delta(old, new)
    expected.write_text(json.dumps(delta))
    stamp.write_text(stamp_text)
    return delta


OLD, NEW = "customers/kunder_20261120.csv", "customers/kunder_20261121.csv"
PRICES = "prices/prices_20261120.csv"
FEEDS = ("companies", "customers")  # in the order a customers file runs them
KINDS = ("adds", "changes", "removals")
LABELS = {"add": "adds", "change": "changes", "remove": "removals"}  # call label -> count


def _place(data: Path, work: Path, name: str) -> None:
    target = work / "drop" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / name, target)
    target.with_name(target.name + ".done").touch()


def _worker(argv: list[str]) -> None:
    """Run in a fresh process; print one JSON line with wall time, peak RSS and outcomes."""
    kind, target = argv
    started = time.perf_counter()
    result: dict[str, object] = {}
    if kind == "read":  # polars decodes cp1252 itself (in Python), then reads the UTF-8
        frame = pl.read_csv(target, separator=";", encoding="cp1252", infer_schema=False)
        result["rows"] = frame.height
    else:
        from etl.config.contract_files import load_contracts
        from etl.config.settings import load_settings
        from etl.runtime import Runtime
        from etl.to_norce.run import run_feed

        settings = load_settings(Path(target) / "etl.toml", {})
        contracts = load_contracts(settings)
        rt = Runtime.open(settings)
        feeds = ["prices", "customers"] if kind == "setup" else ["customers"]
        outcomes = [o for feed in feeds for o in run_feed(rt, contracts[feed])]
        rt.close()
        result["outcomes"] = {
            o.feed: {"outcome": o.outcome, "run_id": o.run_id, **o.counts} for o in outcomes
        }
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _spawn(*args: str) -> dict[str, Any]:
    """Run one worker in a fresh process; its JSON line."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _committed(outcomes: dict[str, dict[str, Any]], feeds: tuple[str, ...]) -> None:
    for feed in feeds:
        o = outcomes.get(feed, {})
        assert o.get("outcome") == "committed" and o.get("rejected") == 0, (feed, o)
        assert o.get("held") == 0 and o.get("reactivations") == 0, (feed, o)


def _sent(work: Path) -> dict[str, Counter[str]]:
    """Items written to the outbox for the new file, per feed and kind (add, change, remove)."""
    sent: dict[str, Counter[str]] = {}
    for feed in FEEDS:
        counts: Counter[str] = Counter()
        for body in (work / "outbox" / "norce" / feed).glob(f"{Path(NEW).stem}-*/*.json"):
            if not body.name.endswith(".request.json"):
                kind = body.stem.split("-", 2)[2].rstrip("0123456789")  # change1 -> change
                counts[LABELS.get(kind, kind)] += len(json.loads(body.read_bytes()))
                counts["calls"] += 1
        sent[feed] = counts
    return sent


@dataclass(frozen=True)
class Figures:
    """Medians over the rounds, and what the last round sent."""

    rows: int
    file_mb: float
    read: Timing
    run: Timing
    stages: dict[str, Timing]
    counts: dict[str, dict[str, int]]
    sent: dict[str, Counter[str]]


def measure(
    data: Path, customers: int, repeat: int, expected: dict[str, dict[str, int]]
) -> Figures:
    """Median figures over `repeat` rounds, each in a fresh home; fails on a wrong delta."""
    from etl.state.manifest import read_manifest  # after REPO is on sys.path

    reads, runs, stages = [], [], []
    sent: dict[str, Counter[str]] = {}
    for _ in range(repeat):
        work = _home(data.parent / "work" / "customers")
        for name in (PRICES, OLD):
            _place(data, work, name)
        _committed(_spawn("setup", str(work))["outcomes"], ("prices", *FEEDS))
        _place(data, work, NEW)
        reads.append(_spawn("read", str(data / NEW)))
        run = _spawn("run", str(work))
        runs.append(run)
        outcomes = run["outcomes"]
        _committed(outcomes, FEEDS)
        sent = _sent(work)
        for feed in FEEDS:
            got = {k: outcomes[feed][k] for k in KINDS}
            assert got == expected[feed], (feed, "delta", got, "expected", expected[feed])
            items = {k: sent[feed][k] for k in KINDS}
            assert items == expected[feed], (feed, "items sent", items, expected[feed])
        round_stages = {}
        for feed in FEEDS:
            run_id = outcomes[feed]["run_id"]
            [path] = (work / "archive" / feed).glob(f"*/{run_id}/manifest.json")
            document = read_manifest(path)
            peaks = document.peak_rss_mb or {}
            # The run resets the peak counter at every stage: its peak is the largest of them.
            run["peak_mb"] = max(float(run["peak_mb"]), *peaks.values())
            for stage, seconds in (document.timings_seconds or {}).items():
                peak = peaks.get(stage, 0.0)
                round_stages[f"{feed}: {stage}"] = {"seconds": seconds, "peak_mb": peak}
        stages.append(round_stages)
    timings = {k: _median([s[k] for s in stages]) for k in stages[0]}
    return Figures(
        rows=customers,
        file_mb=(data / NEW).stat().st_size / 1e6,
        read=_median(reads) or (0.0, 0.0),
        run=_median(runs) or (0.0, 0.0),
        stages={k: v for k, v in timings.items() if v is not None},
        counts={f: {k: runs[-1]["outcomes"][f][k] for k in KINDS} for f in FEEDS},
        sent=sent,
    )


def report(f: Figures, customers: int, expected: dict[str, dict[str, int]]) -> str:
    """The figures as printed lines."""

    def row(label: str, timing: Timing, indent: int = 2) -> str:
        seconds, peak = timing
        return (
            f"{' ' * indent}{label:<{40 - indent}} {seconds:7.2f} s  "
            f"{seconds / f.read[0]:5.2f}x   peak {peak:6.0f} MB"
        )

    changed = sum(expected["customers"].values())
    lines = [
        f"{NEW}: CSV, Windows-1252, ';' separated, {len(COLUMNS)} columns, "
        f"{f.file_mb:.1f} MB, {f.rows} rows",
        f"  customer delta {changed} rows ({changed / customers:.2%} of {customers})",
        row("bare polars.read_csv (cp1252)", f.read),
        row("whole `once` run (companies+customers)", f.run),
    ]
    lines += [row(name, timing, indent=4) for name, timing in f.stages.items()]
    outside = f.run[0] - sum(seconds for seconds, _ in f.stages.values())
    lines.append(
        f"    {'outside the stages':<36} {outside:7.2f} s  (imports, fetch, ledger, commit)"
    )
    lines.append(f"  rows/s, whole run: {f.rows / f.run[0]:,.0f}")
    for feed in FEEDS:
        got = ", ".join(f"{k} {f.counts[feed][k]}" for k in KINDS)
        items = ", ".join(f"{k} {f.sent[feed][k]}" for k in KINDS)
        lines.append(
            f"  {feed}: delta {got}; items sent {items} in {f.sent[feed]['calls']} calls "
            "(= the generator's own diff)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200_000, help="rows of the export")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data")
    args = parser.parse_args()
    if args.customers < 2000:
        parser.error("--customers must be at least 2000 (1% of them must be a mixed delta)")
    data = args.data / f"customers-{args.customers}"
    expected = generate(data, args.customers)
    print(
        f"customers={args.customers} repeat={args.repeat} "
        "(medians of paired rounds; ratios to the bare read of the new file)"
    )
    print(report(measure(data, args.customers, args.repeat, expected), args.customers, expected))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
    else:
        main()

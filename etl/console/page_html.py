"""The console page as HTML: server-rendered, no JavaScript, every value escaped.

Every value from the ledger, a file name or an ERP's message, goes through `_e`
(html.escape, quotes too) and every link part through `urllib.parse.quote` first: a value
like `<script>` shows as text. The style is inline, so the page needs nothing else.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from etl.alerts.book import AlertRecord
from etl.console.page_data import MANIFEST, PageData, RunView
from etl.console.problems import Problem

# The counts a run row shows, in this order, when the run has them.
COUNTS = ("rows", "accepted", "rejected", "adds", "changes", "removals", "held", "sent")
ALWAYS = ("rows", "accepted", "rejected")

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
h3{font-size:1em;margin:1em 0 .3em;color:#444}
table{border-collapse:collapse;background:#fff;margin-bottom:.5em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
.ok{background:#e6f4e6;border:1px solid #9c9}.bad{background:#fdeaea;border:1px solid #d99}
.banner{padding:.5em 1em;margin:.6em 0;font-weight:600}
.o-committed{color:#176b17}.o-failed,.o-rejected{color:#b00;font-weight:600}
.muted{color:#777}code{font-size:.95em}.nowrap{white-space:nowrap}
table.wide{width:100%}.runs td:nth-child(5){min-width:11em}
"""


def render_page(data: PageData, base: str) -> str:
    """The whole page; `base` is the console's path, report links go below it."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>erp-norce-etl console</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>erp-norce-etl console</h1>",
        f'<div class="muted">read at {_e(_second(data.now.isoformat()))} UTC</div>',
        _banner(data.problems),
        _problems(data.problems),
        _holds(data.holds),
        _runs(data, base),
        _orders(data.orders),
        _alerts(data.alerts),
        "</body></html>",
    ]
    return "\n".join(parts)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _second(stamp: str | None) -> str:
    """An ISO time as people read it: to the second, without the offset."""
    return (stamp or "")[:19].replace("T", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "wide") -> str:
    """A table; cells are HTML already (each value escaped by its caller)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def _banner(problems: Sequence[Problem]) -> str:
    if not problems:
        return '<div class="banner ok">Nothing needs a person.</div>'
    return f'<div class="banner bad">{len(problems)} problem(s) need a person.</div>'


def _problems(problems: Sequence[Problem]) -> str:
    if not problems:
        return ""
    rows = [
        [
            _e(_second(p.since)),
            _e(p.kind),
            _e(p.subject),
            _e(p.what),
            _e(p.did),
            f"<code>{_e(p.command)}</code>" if p.command else "",
        ]
        for p in problems
    ]
    headers = ("since", "kind", "subject", "what happened", "what was done", "command")
    return "<h2>Problems</h2>" + _table(headers, rows)


def _runs(data: PageData, base: str) -> str:
    """One table of every feed's runs on the days shown; a feed without runs says so."""
    days = " and ".join(data.days)
    rows: list[list[str]] = []
    for feed, runs in data.runs.items():
        if not runs:
            rows.append([_e(feed), *_no_run_row(data.last_runs.get(feed), base)])
        rows += [[_e(feed), *_run_row(view, base)] for view in runs]
    headers = ("feed", "started", "outcome", "file", "counts", "message", "reports")
    return f"<h2>Runs on {_e(days)} (UTC)</h2>" + _table(headers, rows, "wide runs")


def _no_run_row(last: RunView | None, base: str) -> list[str]:
    """A feed with no run on the days shown: its last run, dated in full, or that it never ran."""
    if last is None:
        return ["", '<span class="muted">no runs yet</span>', "", "", "", ""]
    _, *rest = _run_row(last, base)
    when = _e(_second(last.run.started_at)[:16])
    note = '<br><span class="muted">no run today or yesterday</span>'
    return [f'<span class="nowrap">{when}</span>{note}', *rest]


def _run_row(view: RunView, base: str) -> list[str]:
    run = view.run
    # Rows, accepted and rejected always; what the delta did only where it did something.
    shown = [k for k in COUNTS if k in run.counts and (k in ALWAYS or run.counts[k])]
    counts = ", ".join(f"{k} {run.counts[k]}" for k in shown)
    links = "<br>".join(_report_link(base, run.run_id, name) for name in view.reports)
    return [
        f'<span class="nowrap">{_e(_second(run.started_at)[5:16])}</span>',
        f'<span class="o-{_e(run.outcome)}">{_e(run.outcome)}</span>',
        _e((run.remote_path or "").rsplit("/", 1)[-1]),
        _e(counts),
        _e(run.message or ""),
        links,
    ]


def report_href(base: str, run_id: str, name: str) -> str:
    """The link to one report file of a run (etl.console.page_route serves it)."""
    return f"{base.rstrip('/')}/report/{quote(run_id, safe='')}/{quote(name, safe='')}"


def _report_link(base: str, run_id: str, name: str) -> str:
    """A link named by what the file is (`rejected.xlsx`); its full name is the title."""
    label = "manifest" if name == MANIFEST else name.split(".", 1)[-1]
    href = _e(report_href(base, run_id, name))
    return f'<a href="{href}" title="{_e(name)}">{_e(label)}</a>'


def _holds(holds: Sequence[Mapping[str, Any]]) -> str:
    if not holds:
        return ""
    rows = [
        [
            _e(h["feed"]),
            _e(h["run_id"]),
            _e(h["removals"]),
            _e(h["reason"]),
            f"<code>run.py approve {_e(h['run_id'])}</code>",
        ]
        for h in holds
    ]
    headers = ("feed", "run", "removals", "why held", "command")
    return "<h2>Held removals</h2>" + _table(headers, rows)


def _orders(orders: Mapping[str, int]) -> str:
    if not orders:
        return '<h2>Orders by state</h2><div class="muted">no orders</div>'
    rows = [[_e(state), _e(n)] for state, n in sorted(orders.items())]
    return "<h2>Orders by state</h2>" + _table(("state", "orders"), rows, "narrow")


def _alerts(alerts: Sequence[AlertRecord]) -> str:
    if not alerts:
        return '<h2>Last alerts</h2><div class="muted">no alerts</div>'
    rows = [
        [
            _e(_second(a.opened_at)),
            _e(a.problem.kind),
            _e(a.problem.subject),
            _e(a.problem.what),
            _e(_second(a.resolved_at)) if a.resolved_at else "open",
        ]
        for a in alerts
    ]
    headers = ("opened", "kind", "subject", "what happened", "resolved")
    return "<h2>Last alerts</h2>" + _table(headers, rows)

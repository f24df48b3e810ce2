"""`run.py check FILE --feed NAME` on every dialect fixture and shipped sample.

Each check runs in-process through etl.cli.main with a settings file whose schemas folder
holds the fixture's contract (one runs as a real `python run.py` process). What it prints
and writes is compared with the fixture's golden file: the same counts, the same codes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from etl.cli import main
from etl.models import Merge
from etl.read.reports import CHECK_CLEAN, CHECK_FILE, CHECK_ROWS, MERGED_ROWS, NOT_COUNTED
from etl.to_norce.check_feeds import FEED_HEADER
from tests.fixtures.cases import CASES, DIALECTS, GOLDEN, Case
from tests.support.check_cases import printed_summary, settings_file
from tests.support.paths import REPO

LABELS = [
    "File",
    "Feed",
    "Contract",
    "Size (bytes)",
    "SHA-256",
    "File modified at",  # a run's report says "Received at"
    "Outcome",
    "Rows read",
    "Rows accepted",
    "Rows rejected",
    "File-level error",
]
# A contract that merges identical rows (same_key_rows) also says how many it merged.
MERGING_LABELS = [*LABELS[:-1], "Rows merged", LABELS[-1]]
# Stated here, not read from the goldens: which fixtures are clean, which refused whole.
CLEAN = {"auto_bom", "semicolon_escape", "tab_sniffed", "title_lines_trailer"}
# The documents in public formats read clean (tests/fixtures/dialects/*.xml).
CLEAN |= {"peppol_invoice", "xrechnung_invoice", "odoo_invoice"}
CLEAN |= {"ubl_order_response", "ubl_despatch_advice", "opentrans_dispatch"}
# Magento exports with long decimals, rounded by their contracts' [rounding].
CLEAN |= {"magento_tier_prices", "magento_catalog_weights"}
CLEAN |= {"magento_sku_twice"}  # one column, two fields ([columns] list)
CLEAN |= {"magento_all_groups_prices"}  # SKUs and `ALL GROUPS` with spaces, code = "norce"
CLEAN |= {"erp_customers_active"}  # an Active column of 1/0 read as is_active
# The shipped samples of the document feeds that a run sends whole.
# (order status 55 is not in its contract, a buyer-number row lacks its org number: held.)
CLEAN |= {"sample_delivery_notes", "sample_invoice_5566", "sample_invoice_5567"}
REFUSED = {"stray_quote", "trailer_bad_sum"}


def labels(case: Case) -> list[str]:
    """The summary's labels for the case's contract."""
    merging = case.contract().checks.same_key_rows == "merge_identical"
    found = MERGING_LABELS if merging else LABELS
    # A contract that maps the ERP's active flag also counts the rows it marks inactive.
    flagged = "is_active" in case.contract().field_sources()
    return [*found[:-1], "Rows marked inactive", found[-1]] if flagged else found


def merged_lines(golden: dict[str, Any]) -> list[str]:
    """What `check` prints of the rows merged into earlier identical rows, as the golden says."""
    merges = [Merge(key, into, tuple(lines), n) for key, into, lines, n in golden.get("merged", [])]
    return [MERGED_ROWS, *(f"  {m.key}: {m.describe()}" for m in merges)] if merges else []


def expected(case: Case) -> tuple[dict[str, Any], Counter[str]]:
    """The golden file of the case and the rejected cells per code it implies."""
    golden = json.loads((GOLDEN / f"{case.name}.json").read_text(encoding="utf-8"))
    if "refused" in golden:
        return golden, Counter([golden["refused"]["code"]])
    # A document feed's check also reports the rows a run would hold back with their document.
    return golden, Counter(r["code"] for r in [*golden["rejections"], *golden.get("held", [])])


def assert_counts(summary: dict[str, str], case: Case, golden: dict[str, Any], code: int) -> None:
    """Outcome, exit code and row counts as the golden file (and CLEAN, REFUSED) say."""
    if case.name in REFUSED:
        assert (code, summary["Outcome"]) == (1, CHECK_FILE)
        assert (summary["Rows read"], summary["Rows rejected"]) == (NOT_COUNTED, NOT_COUNTED)
        assert summary["File-level error"] == golden["refused"]["message"]
        return
    clean = case.name in CLEAN
    assert (code, summary["Outcome"]) == ((0, CHECK_CLEAN) if clean else (1, CHECK_ROWS))
    bad_lines = {r["line"] for r in [*golden["rejections"], *golden.get("held", [])]}
    # A document feed counts as its run does: the rows read less the lines of held documents.
    accepted = golden["rows_read"] - len(bad_lines) if "held" in golden else len(golden["valid"])
    assert [summary[f"Rows {k}"] for k in ("read", "accepted", "rejected")] == [
        str(golden["rows_read"]),
        str(accepted),
        str(len(bad_lines)),
    ]
    if "Rows merged" in summary:  # every row read is accepted, rejected or merged
        merged = int(summary["Rows merged"].split()[0])
        assert merged == golden.get("rows_merged", 0)
        assert merged + len(golden["valid"]) + int(summary["Rows rejected"]) == golden["rows_read"]
    assert summary["File-level error"] == "none"


def assert_reports(out: Path, stem: str, summary: dict[str, str], cells: int, raw: bool) -> None:
    """Both reports reopen: the XLSX summary as printed, one detail row per rejected cell."""
    book = openpyxl.load_workbook(out / f"{stem}.xlsx")
    sheet = {str(r[0]): str(r[1]) for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert {label: sheet[label] for label in summary} == summary
    detail = list(book["Rejected cells"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == cells
    if raw:
        assert all(row[7] for row in detail), "every rejected row shows its raw line"
    with (out / f"{stem}.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.reader(handle))) == 1 + cells


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_prints_the_summary_and_writes_reports_that_reopen(
    tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out = settings_file(tmp_path, case), tmp_path / "out"
    golden, codes = expected(case)
    data = case.data.read_bytes()

    code = main(
        ["--config", str(config), "check", str(case.data), "--feed", case.feed, "--out", str(out)]
    )

    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{FEED_HEADER}Feed {case.feed} "), printed[0]  # says which feed
    lines = [line for line in printed if not line.startswith(FEED_HEADER)]
    summary = printed_summary(lines)
    assert list(summary) == labels(case)
    assert summary["File"] == case.data.name and summary["Feed"] == case.feed
    assert summary["SHA-256"] == hashlib.sha256(data).hexdigest()
    assert summary["Size (bytes)"] == str(len(data))
    assert_counts(summary, case, golden, code)
    stem = f"{case.data.stem}.rejected"
    if codes:
        by_count = sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))
        assert lines[len(summary) :] == [
            *merged_lines(golden),
            "Rejected cells per error code:",
            *[f"  {c}: {n}" for c, n in by_count],
            f"Report: {out / stem}.xlsx",
            f"Report: {out / stem}.csv",
        ]
        # A feed about people shows no raw line: it would carry the whole person.
        raw = case.name not in REFUSED and case.contract().entity.personal is None
        assert_reports(out, stem, summary, codes.total(), raw=raw)
    else:
        assert lines[len(summary) :] == merged_lines(golden)
        assert not out.exists() or not any(out.iterdir())
    assert not any((tmp_path / "home").iterdir())  # no state, no archive, no inbox
    assert case.data.read_bytes() == data


def test_check_covers_every_kind_of_outcome() -> None:
    names = {c.name for c in CASES}

    assert names >= CLEAN | REFUSED
    assert names - CLEAN - REFUSED, "fixtures with rejected rows"


def test_run_py_check_as_an_operator_runs_it(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.name == "utf16le_bom"]
    config, out = settings_file(tmp_path, case), tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "ETL_CONFIG"}
    feed = ["--feed", case.feed, "--out", str(out)]

    result = subprocess.run(
        [sys.executable, "run.py", "--config", str(config), "check", str(case.data), *feed],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1, result.stderr
    summary = printed_summary(result.stdout.splitlines())
    assert summary["Outcome"] == CHECK_ROWS
    assert summary["Contract"] == str(DIALECTS / "utf16le_bom.toml")
    assert "  checksum: 1" in result.stdout.splitlines()
    sheet = openpyxl.load_workbook(out / "utf16le_bom.rejected.xlsx")["Rejected cells"]
    [row] = sheet.iter_rows(min_row=2, values_only=True)
    assert row[0] == 5 and row[7] == "300003;ACME;Termos Ωmega;;7350000300032"

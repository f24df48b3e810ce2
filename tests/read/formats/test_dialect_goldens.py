"""Every dialect fixture and shipped sample against a golden file of what it reads and validates to.

A golden file (tests/fixtures/dialects/golden/<name>.json) holds the columns the reader found,
every row as text with its `_line`, and what validation made of them: the rows read, each
valid row (typed values as text, empty fields left out) and each rejected cell (line,
field, code, value); with `same_key_rows = "merge_identical"`, the rows merged and the first
of them ([key, line taken, lines merged into it, how many]). A file refused whole holds its
error instead. One row a line, so a diff shows exactly which row changed. A document feed's
golden file also holds the Norce calls its documents make (`calls`: method and body, as
built from the file alone; what the sender completes from the order as received, such as
the payment, is not in it) and the rows held back with their documents (`held`).

Regenerate after an intended change with
`ETL_UPDATE_GOLDEN=1 pytest tests/read/formats/test_dialect_goldens.py`, then read the diff:
every line of it is a value that reaches Norce, or a row someone will be asked to fix.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import runpy
import zipfile
from pathlib import Path
from typing import Any

import pytest

from etl.config.contracts import FeedContract
from etl.entities import DocumentEntity
from etl.errors import FileRejected
from etl.models import LINE, Validated
from etl.read.formats import read_file
from etl.to_norce.documents.grouping import document_entity, group
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.cases import CASES, DIALECTS, GOLDEN, Case, data_files, fixture_name
from tests.support.paths import REPO

# Visible in a diff only as escapes: no-break spaces, zero-width characters, a stray BOM.
INVISIBLE = re.compile(r"[^\S ]|[\u200b-\u200f\u2060\ufeff]")


def refusal(exc: FileRejected) -> dict[str, Any]:
    return {"code": exc.code, "line": exc.line, "message": str(exc)}


def outcome(case: Case, scratch: Path) -> dict[str, Any]:
    """What the reader and validation make of the case's file, as plain JSON values."""
    contract = case.contract()
    got: dict[str, Any] = {
        "file": case.data.relative_to(REPO).as_posix(),
        "contract": case.contract_path.relative_to(REPO).as_posix(),
    }
    try:
        parsed = read_file(case.data, contract, scratch)
    except FileRejected as exc:
        return got | {"refused": refusal(exc)}
    got["columns"] = list(parsed.columns)
    if parsed.parts:
        got["parts"] = [[p.name, p.offset] for p in parsed.parts]
    got["rows"] = [
        [row[LINE], *(row[c] for c in parsed.columns)] for row in parsed.frame.iter_rows(named=True)
    ]
    try:
        validated = parse_and_validate(case.data, contract, scratch)
    except FileRejected as exc:
        return got | {"refused": refusal(exc)}
    got["rows_read"] = validated.rows_read
    got["valid"] = [
        {k: v if k == LINE else str(v) for k, v in row.items() if v is not None}
        for row in validated.valid.to_dicts()
    ]
    got["rejections"] = validated.rejections.select("line", "field", "code", "value").to_dicts()
    if validated.merged.count:  # rows taken once as an identical earlier row
        got["rows_merged"] = validated.merged.count
        got["merged"] = [[m.key, m.into, list(m.lines), m.count] for m in validated.merged.examples]
    if isinstance(contract.entity, DocumentEntity):
        got |= norce_calls(validated, contract)
    return got


def norce_calls(validated: Validated, contract: FeedContract) -> dict[str, Any]:
    """The Order service call each document of the file makes, and the rows held back."""
    grouped = group(validated, contract)
    entity = document_entity(contract)
    options = entity.parse_options(contract.options)
    return {
        "calls": [
            {"method": entity.method, "body": entity.build_body(d, options)}
            for d in grouped.documents
        ],
        "held": grouped.rejections.select("line", "field", "code").to_dicts(),
    }


def dumps(value: object) -> str:
    """One-line JSON; spaces other than " " (a no-break space, a BOM) written as escapes."""
    text = json.dumps(value, ensure_ascii=False)
    return INVISIBLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def render(golden: dict[str, Any]) -> str:
    """JSON with one list item a line: a row, a valid row, a rejected cell."""
    parts = []
    for key, value in golden.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"  {dumps(v)}" for v in value)
            body = f"[\n{items}\n ]"
        else:
            body = dumps(value)
        parts.append(f" {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_matches_its_golden_file(tmp_path: Path, case: Case) -> None:
    golden = GOLDEN / f"{case.name}.json"
    got = render(outcome(case, tmp_path))
    if os.environ.get("ETL_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")

    assert json.loads(got) == json.loads(golden.read_text(encoding="utf-8"))


def test_every_fixture_has_a_contract_and_a_golden_file() -> None:
    names = [fixture_name(p) for p in data_files()]
    contracts = sorted(p.stem for p in DIALECTS.glob("*.toml"))

    assert sorted(names) == contracts  # one data file per contract, none without one
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(c.name for c in CASES)


def zip_content(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {m.filename: archive.read(m) for m in archive.infolist()}


@pytest.mark.parametrize("script", ["make_xlsx.py", "make_archives.py"])
def test_the_binary_fixtures_are_what_their_script_writes(tmp_path: Path, script: str) -> None:
    """Compared by content: the compressed bytes may differ with another zlib."""
    written = runpy.run_path(str(DIALECTS / script))["write_all"](tmp_path)

    assert written
    for path in written:
        committed = DIALECTS / path.name
        if path.suffix == ".gz":
            assert gzip.decompress(path.read_bytes()) == gzip.decompress(committed.read_bytes())
        else:
            assert zip_content(path) == zip_content(committed), path.name

"""The tools that walk the archive reach runs in object storage: purge, forget, replay, trace,
approve and the console, each through `run.py` on a home whose archive is in the bucket.

Each tool runs in a second home with the same settings: the first home's state (ledger,
snapshots) copied over, its `archive/` not, so nothing can be read from a local run folder.
The bucket is moto's real S3 API on loopback; what the product stored is looked at with boto3.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import shutil
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pydantic import SecretStr

from etl.config.contract_files import load_contracts
from etl.config.settings import ConsoleSettings, Settings
from etl.console.page_route import basic_credentials, console_routes
from etl.retention.stored_runs import purge_stored
from etl.retention.summary import AreaSummary
from etl.runtime import Runtime
from etl.state.blob_archive import AREA, BlobArchive
from etl.state.blobs import S3Blobs
from etl.state.manifest import Manifest
from tests.support.masterdata import run_once
from tests.support.privacy_seed import ANNA_ROW, EVA_ROW, drop_customers
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import PREFIX, run_py, s3_config, s3_settings

LONG_AGO = "2020-01-01T00:00:00+00:00"  # a run's finished_at past every retention


def _customers_run(s3_bucket: S3Bucket, home: Path, erp_root: Path, rows: list[str]) -> str:
    """One committed customers run of `rows`, published to the bucket; returns its id."""
    shutil.rmtree(erp_root / "customers", ignore_errors=True)
    drop_customers(erp_root, "kunder_20261206.csv", rows)
    s3_config(s3_bucket, home, erp_root)
    outcomes = run_once(s3_settings(home), "customers")
    [outcome] = [o for o in outcomes if o.feed == "customers"]
    assert outcome.outcome == "committed" and outcome.run_id is not None
    return outcome.run_id


def _second_home(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> Path:
    """A home with the same settings and the first one's state, but no archive/ on its disk."""
    other = home.parent / "home-2"
    shutil.copytree(home, other, ignore=shutil.ignore_patterns("archive"))
    s3_config(s3_bucket, other, erp_root)
    assert not (other / "archive").exists()
    return other


def _run_prefix(s3_bucket: S3Bucket, feed: str, run_id: str) -> str:
    keys = s3_bucket.listed_keys(f"{PREFIX}/archive/{feed}/")
    [mark] = [k for k in keys if k.endswith(f"/{run_id}.published")]
    return mark.removesuffix(".published") + "/"


def _age(s3_bucket: S3Bucket, prefix: str) -> None:
    """The run's manifest says it finished long ago (behind the product's back)."""
    manifest = json.loads(s3_bucket.objects(prefix + "manifest.json")[prefix + "manifest.json"])
    s3_bucket.put(
        prefix + "manifest.json", json.dumps(manifest | {"finished_at": LONG_AGO}).encode()
    )


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_S3_KEY", KEY_ID)  # the environment the commands read their key from


# -- purge ----------------------------------------------------------------------------------


def test_purge_purges_runs_in_the_bucket_past_their_retention(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    prefix = _run_prefix(s3_bucket, "customers", run_id)
    _age(s3_bucket, prefix)
    held = {k.removeprefix(prefix) for k in s3_bucket.listed_keys(prefix)}
    sizes = {k.removeprefix(prefix): len(v) for k, v in s3_bucket.objects(prefix).items()}
    gone = held - {"manifest.json"}
    assert "kunder_20261206.csv" in gone
    other = _second_home(s3_bucket, home, erp_root)

    code, dry = run_py(other, "purge", "--dry-run")
    assert code == 0
    would = f"customers: would purge 1 folder(s): {len(gone)} file(s)"
    assert would in dry, dry
    assert set(s3_bucket.listed_keys(prefix)) == {prefix + k for k in held}

    code, said = run_py(other, "purge")

    assert code == 0
    assert f"customers: purged 1 folder(s): {len(gone)} file(s)" in said, said
    assert s3_bucket.listed_keys(prefix) == [prefix + "manifest.json"]
    record = json.loads(s3_bucket.objects(prefix + "manifest.json")[prefix + "manifest.json"])
    assert record["purged_at"] and record["retention_days"] == 90
    assert {e["name"]: e["size"] for e in record["purged"]} == {n: sizes[n] for n in gone}
    assert all(len(e["sha256"]) == 64 for e in record["purged"])
    mark = json.loads(s3_bucket.objects(prefix[:-1] + ".published")[prefix[:-1] + ".published"])
    assert list(mark["files"]) == ["manifest.json"]  # the run stays listed, with what it holds
    assert "cannot reach" not in caplog.text and "object storage" not in said

    code, again = run_py(other, "purge")
    assert code == 0 and "customers: purged 0 folder(s)" in again and "1 purged before" in again


def test_purge_leaves_runs_in_the_bucket_within_their_retention(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW])
    prefix = _run_prefix(s3_bucket, "customers", run_id)
    before = s3_bucket.listed_keys(prefix)
    s3_bucket.put(f"{PREFIX}/archive/kunder_old/2020-01-01/r9/kunder.csv", b"K-1005;Eva\r\n")

    code, said = run_py(_second_home(s3_bucket, home, erp_root), "purge")

    assert code == 0 and "customers: purged 0 folder(s)" in said and "1 younger than 90" in said
    assert s3_bucket.listed_keys(prefix) == before
    assert "archive/kunder_old: no feed contract names it; left alone" in said


# -- forget ---------------------------------------------------------------------------------


def test_forget_masks_the_person_in_runs_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    prefix = _run_prefix(s3_bucket, "customers", run_id)
    other = _second_home(s3_bucket, home, erp_root)

    code, dry = run_py(other, "forget", "--customer", "K-1005", "--dry-run")
    assert code == 0
    [would] = [line for line in dry.splitlines() if "archive/customers:" in line]
    assert b"eva.ek@example.se" in s3_bucket.objects(prefix)[prefix + "kunder_20261206.csv"]

    code, said = run_py(other, "forget", "--customer", "K-1005")

    assert code == 0
    [masked] = [line for line in said.splitlines() if "archive/customers:" in line]
    assert masked == would.replace("would mask", "masked")
    stored = s3_bucket.objects(prefix)
    for name, body in stored.items():
        parquet = name.endswith(".parquet")
        text = pl.read_parquet(io.BytesIO(body)).write_csv().encode() if parquet else body
        for value in (b"eva.ek@example.se", b"19850101-1234", "Ekvägen".encode("cp1252")):
            assert value not in text, name
    kept = stored[prefix + "kunder_20261206.csv"].decode("cp1252")
    assert "anna.andersson@example.se" in kept and "Storgatan 1" in kept
    manifest = json.loads(stored[prefix + "manifest.json"])
    [erasure] = manifest["erasures"]
    assert erasure["request"].startswith("sha256:") or erasure["request"]
    assert "kunder_20261206.csv" in {f["name"] for f in erasure["files"]}
    csv = next(f for f in erasure["files"] if f["name"] == "kunder_20261206.csv")
    assert csv["size"] == len(stored[prefix + "kunder_20261206.csv"])
    log = (other / "state" / "privacy").rglob("*.jsonl")
    assert any("archive/customers" in p.read_text(encoding="utf-8") for p in log)


# -- replay ---------------------------------------------------------------------------------


def test_replay_takes_a_run_in_the_bucket_again(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    other = _second_home(s3_bucket, home, erp_root)

    code, dry = run_py(other, "replay", run_id, "--dry-run")
    assert code == 0 and f"a replay of run {run_id}" in dry and "nothing was changed" in dry

    code, said = run_py(other, "replay", run_id, "--now", "--why", "check")

    assert code == 0, said
    assert f"replays run {run_id}" in said and "customers: " in said and ": committed" in said
    settings = s3_settings(other)
    rt = Runtime.open(settings)
    try:
        [replay] = [r for r in rt.ledger.runs("customers", 10) if r.kind == "replay"]
        assert replay.outcome == "committed"
        [published] = [r for r in rt.archive.runs("customers") if r.name == replay.run_id]
        assert rt.archive.read_manifest(published).replay_of == run_id
    finally:
        rt.close()
    assert not list((other / "inbox").rglob("*.csv"))  # the fetched copy went with its run
    assert not (other / "archive").exists() or not any((other / "archive").rglob("*.csv"))


# -- trace, approve, the console -------------------------------------------------------------


def test_trace_reads_the_runs_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    other = _second_home(s3_bucket, home, erp_root)

    code, said = run_py(other, "trace", "K-1005", "--feed", "customers", "--json")

    assert code == 0, said
    document = json.loads(said)
    [feed] = document["feeds"]
    assert feed["runs_read"] == 1 and feed["runs_missing"] == 0
    assert [(s["run_id"], s["action"]) for s in feed["steps"]] == [(run_id, "add")]


def test_approve_finds_why_a_removal_was_held_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    contract = home / "schemas" / "customers.toml"
    text = contract.read_text(encoding="utf-8").replace("max_removals = 25", "max_removals = 0")
    contract.write_text(text, encoding="utf-8")
    _customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_ROW])
    held = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW])  # Eva's removal is held
    other = _second_home(s3_bucket, home, erp_root)

    code, said = run_py(other, "approve", held)

    assert code == 0, said
    rt = Runtime.open(s3_settings(other))
    try:
        [approval] = [r for r in rt.ledger.runs("customers", 10) if r.kind == "approve"]
        folder = next(r for r in rt.archive.runs("customers") if r.name == approval.run_id)
        with rt.archive.opened(folder, "delta.parquet") as trail:
            assert trail is not None
            reasons = pl.read_parquet(trail, glob=False)["reason"].to_list()
    finally:
        rt.close()
    assert len(reasons) == 1
    assert all(f"in run {held}; hold approved" in (r or "") for r in reasons), reasons


def _console_get(settings: Settings, path: str) -> tuple[int, bytes]:
    """One GET to the console's routes as the receiver hands it over (ASGI), with its password."""
    console = ConsoleSettings(password=SecretStr("console-password"))
    receiver = settings.receiver.model_copy(update={"console": console})
    with_console = settings.model_copy(update={"receiver": receiver})
    routes = console_routes(with_console, load_contracts(with_console))
    assert routes is not None and routes.serves(path)
    auth = b"Basic " + basic_credentials("operator", "console-password")
    scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"authorization", auth)]}
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(routes.respond(scope, send))
    return sent[0]["status"], sent[1]["body"]


def test_the_console_serves_reports_of_runs_in_the_bucket(
    s3_bucket: S3Bucket, home: Path, erp_root: Path
) -> None:
    s3_config(s3_bucket, home, erp_root)
    outcomes = run_once(s3_settings(home), "products")
    [outcome] = [o for o in outcomes if o.feed == "products"]
    run_id = outcome.run_id
    assert outcome.outcome == "committed" and run_id is not None
    prefix = _run_prefix(s3_bucket, "products", run_id)
    stored = s3_bucket.objects(prefix)
    reports = json.loads(stored[prefix + "manifest.json"])["reports"]
    assert any(n.endswith(".xlsx") for n in reports)
    settings = s3_settings(_second_home(s3_bucket, home, erp_root))

    status, page = _console_get(settings, "/console")
    served = {n: _console_get(settings, f"/console/report/{run_id}/{n}") for n in reports}
    refused = _console_get(settings, f"/console/report/{run_id}/../../state/ledger.sqlite")

    assert status == 200
    for name in reports:
        assert f"/console/report/{run_id}/{name}".encode() in page
    assert served == {n: (200, stored[prefix + n]) for n in reports}
    assert refused[0] == 404


# -- purge: a purge cut short, a store that is down -------------------------------------------


def _old_run(archive: BlobArchive) -> Path:
    staged = archive.stage("customers", "2020-01-01", "r1")
    manifest = Manifest.new(run_id="r1", feed="customers", finished_at=LONG_AGO)
    archive.write_manifest(staged, manifest)
    (staged / "kunder.csv").write_bytes(b"Kundnr;Namn\r\nK-1005;Eva\r\n")
    return archive.publish(staged)


def test_what_a_purge_cut_short_left_goes_with_the_next(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    archive = BlobArchive(tmp_path / "archive", S3Blobs(s3_bucket.settings(prefix=PREFIX), AREA))
    run = _old_run(archive)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    purge_stored(archive, tmp_path, AreaSummary("customers", "feed", 90), now, dry_run=False)
    prefix = f"{PREFIX}/archive/customers/2020-01-01/r1/"
    # The objects a purge that died after its record and its mark would have left.
    s3_bucket.put(prefix + "kunder.csv", b"Kundnr;Namn\r\nK-1005;Eva\r\n")

    again = AreaSummary("customers", "feed", 90)
    purge_stored(archive, tmp_path, again, now, dry_run=False)

    assert again.folders == 1 and [r.path.name for r in again.removals] == ["kunder.csv"]
    assert s3_bucket.listed_keys(prefix) == [prefix + "manifest.json"]
    record = archive.read_manifest(run)
    assert [e["name"] for e in record.as_json()["purged"]] == ["kunder.csv", "kunder.csv"]
    assert archive.runs("customers") == [run]


def test_a_store_that_is_down_leaves_the_runs_for_the_next_purge(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    down = S3Bucket("http://127.0.0.1:9", s3_bucket.name).settings(prefix=PREFIX)
    archive = BlobArchive(tmp_path / "archive", S3Blobs(down, AREA))
    summary = AreaSummary("customers", "feed", 90)

    purge_stored(archive, tmp_path, summary, dt.datetime(2030, 1, 1, tzinfo=dt.UTC), dry_run=False)

    assert summary.folders == 0 and not summary.removals
    [said] = summary.skipped
    assert "archive/customers in object storage" in said and s3_bucket.name in said


def test_replay_of_a_run_whose_file_left_the_bucket_says_it_is_gone(
    s3_bucket: S3Bucket, home: Path, erp_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = _customers_run(s3_bucket, home, erp_root, [ANNA_ROW])
    prefix = _run_prefix(s3_bucket, "customers", run_id)
    s3_bucket.delete(prefix + "kunder_20261206.csv")  # behind the product's back

    code, _ = run_py(_second_home(s3_bucket, home, erp_root), "replay", run_id)

    assert code == 1
    assert f"the archived copy of kunder_20261206.csv (run {run_id}) is gone" in caplog.text
    assert "no longer in its run folder" in caplog.text

"""manifest.json: every kind today's code writes still reads, rewrites keep what they do not know,
new manifests are checked key by key, and a run today writes the keys the fixtures hold."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from etl.config.settings import LocalStoreSettings
from etl.state.atomic import TEMP_GLOB
from etl.state.manifest import Manifest, ManifestError, read_manifest, write_manifest
from tests.support.masterdata import run_once, settings_for
from tests.support.paths import FIXTURES

KINDS = sorted((FIXTURES / "manifests").glob("*.json"))


def keys_of(value: Any, prefix: str = "") -> set[str]:
    """Every dotted key path in a JSON value (list items share their list's path)."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {f"{prefix}{k}", *keys_of(v, f"{prefix}{k}.")}}
    if isinstance(value, list):
        return {p for item in value for p in keys_of(item, prefix)}
    return set()


@pytest.mark.parametrize("fixture", KINDS, ids=[p.stem for p in KINDS])
def test_every_kind_written_today_reads_and_writes_back_the_same(
    fixture: Path, tmp_path: Path
) -> None:
    manifest = read_manifest(fixture)
    assert manifest.model_extra == {}  # the model declares every key today's code writes

    write_manifest(tmp_path / "manifest.json", manifest)

    assert json.loads((tmp_path / "manifest.json").read_text("utf-8")) == json.loads(
        fixture.read_text("utf-8")
    )


def test_a_manifest_from_the_first_version_reads() -> None:
    early = read_manifest(FIXTURES / "manifests" / "rejected_early.json")
    assert early.input is not None and early.input.mtime is None
    assert early.outcome == "rejected" and early.code == "missing_column"


def test_a_rewrite_keeps_keys_this_version_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    older = {"run_id": "r1", "legacy": {"kept": [1, 2]}, "input": {"name": "a.csv",
             "remote_path": "in/a.csv", "size": 3, "sha256": "ab", "encoding": "cp1252"}}  # fmt: skip
    path.write_text(json.dumps(older), encoding="utf-8")

    purged = read_manifest(path).updated(purged_at="2026-12-21T10:00:00+00:00", purged=[])
    write_manifest(path, purged)

    assert json.loads(path.read_text("utf-8")) == older | {
        "purged_at": "2026-12-21T10:00:00+00:00",
        "purged": [],
    }


def test_a_new_manifest_refuses_a_key_no_model_declares() -> None:
    with pytest.raises(ValidationError, match=r"unknown key.*finshed_at"):
        Manifest.new(run_id="r1", finshed_at="2026-12-07T00:00:00+00:00")
    with pytest.raises(ValidationError, match=r"unknown key.*sha"):
        Manifest.new(input={"name": "a", "remote_path": "a", "size": 1, "sha256": "x", "sha": 1})
    with pytest.raises(ValidationError, match=r"unknown key.*replayed"):
        Manifest.new(run_id="r1").updated(replayed="r0")


def test_only_the_keys_a_writer_gave_are_written_and_a_given_none_stays(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.json", Manifest.new(run_id="r1", held_reason=None))
    assert json.loads((tmp_path / "m.json").read_text("utf-8")) == {
        "run_id": "r1",
        "held_reason": None,
    }


def test_a_manifest_is_written_owner_only_in_place_and_as_text_people_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(path, Manifest.new(run_id="r1", error="kolumn 'Företag' saknas"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "Företag" in path.read_text("utf-8")  # not \\u00f6
    assert list(tmp_path.glob(TEMP_GLOB)) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", r"^unreadable \(Expecting property name"),
        ("[1, 2]", r"^not a JSON object$"),
        ('{"counts": {"rows": "ten"}}', r"^unreadable \(counts\.rows: Input should be"),
    ],
)
def test_what_is_not_a_manifest_is_refused_with_why(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert caught.value.path == path
    assert re.search(reason, caught.value.reason), caught.value.reason


counts = st.dictionaries(st.text(min_size=1, max_size=12), st.integers(0, 10**9), max_size=6)
texts = st.none() | st.text(max_size=30)


@settings(max_examples=40)
@given(counts=counts, reason=texts, reports=st.lists(st.text(max_size=20), max_size=3))
def test_what_is_written_reads_back_equal(
    counts: dict[str, int], reason: str | None, reports: list[str]
) -> None:
    manifest = Manifest.new(run_id="r", counts=counts, held_reason=reason, reports=reports)
    text = json.dumps(manifest.as_json(), ensure_ascii=False)
    assert Manifest.model_validate(json.loads(text)) == manifest


def test_a_run_today_writes_the_keys_the_fixtures_hold(home: Path, erp_root: Path) -> None:
    settings = settings_for(home, LocalStoreSettings(root=erp_root))
    [products] = run_once(settings, "products")
    [invoice, *_] = run_once(settings, "invoices")

    for outcome, fixture in ((products, "masterdata_committed"), (invoice, "documents_committed")):
        [path] = (home / "archive" / outcome.feed).glob(f"*/{outcome.run_id}/manifest.json")
        written = json.loads(path.read_text("utf-8"))
        expected = json.loads((FIXTURES / "manifests" / f"{fixture}.json").read_text("utf-8"))
        assert keys_of(written) == keys_of(expected), fixture

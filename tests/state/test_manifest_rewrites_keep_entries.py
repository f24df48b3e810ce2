"""A purge or an erasure appends to a manifest whose entries carry keys this version does not know
(a later version wrote them): the entries go back as they were read, and the purge goes on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from etl.cli import main
from etl.privacy.places import note_in_manifests

LATER = {"name": "old.json", "size": 3, "sha256": "x", "purged_at": "2026-11-01", "by": "v2"}
ERASED = {"at": "2026-11-01T00:00:00+00:00", "request": "r1", "files": [], "ticket": 7}


def _manifest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.json"
    path.write_text(json.dumps({"purged": [LATER], "erasures": [ERASED], "note": "kept"}))
    return path


def test_a_purge_appends_after_entries_with_keys_it_does_not_know(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "schemas").mkdir(parents=True)
    (home / "etl.toml").write_text("[archive]\norders_retention_days = 1\n")
    refused = home / "archive" / "orders" / "rejected"
    path = _manifest(refused)
    due = refused / "20261101T000000Z-0123456789abcdef.json"
    due.write_text("{}")
    assert main(["--home", str(home), "purge"]) == 0
    assert not due.exists()
    written = json.loads(path.read_text())
    assert written["purged"][0] == LATER
    assert [e["name"] for e in written["purged"]] == ["old.json", due.name]
    assert written["erasures"] == [ERASED]
    assert written["note"] == "kept"


def test_an_erasure_appends_after_entries_with_keys_it_does_not_know(tmp_path: Path) -> None:
    folder = tmp_path / "archive" / "customers" / "2026-11-01" / "run"
    path = _manifest(folder)
    (folder / "kunder.csv").write_text("masked\n")
    note_in_manifests([folder / "kunder.csv"], "r2", dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    written = json.loads(path.read_text())
    assert written["erasures"][0] == ERASED
    assert written["erasures"][1]["request"] == "r2"
    assert written["purged"] == [LATER]

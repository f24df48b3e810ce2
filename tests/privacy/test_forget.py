"""`run.py forget`: one person leaves every place; the other person and the flows stay whole."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from etl.cli import _parser
from etl.config.contract_files import load_contracts
from etl.privacy import audit
from tests.support.masterdata import manifests, run_once
from tests.support.paths import REPO, SCHEMAS
from tests.support.privacy_seed import (
    ANNA,
    ANNA_ROW,
    EVA,
    EVA_ROW,
    GUSTAV,
    GUSTAV_ROW,
    config_file,
    drop_customers,
    holders,
    seed_orders_and_more,
    settings,
)


def _forget(home: Path, erp_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), "--config", str(config_file(home, erp_root)),
         "forget", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _forget_here(home: Path, erp_root: Path, *args: str) -> str:
    """The same command in this process (it is fast): its printed lines."""
    parsed = _parser().parse_args(["forget", *args])
    config = settings(home, erp_root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, config, load_contracts(config)) == 0
    return out.getvalue()


def _contents(home: Path) -> dict[str, str]:
    """Every file's hash, the settings file we write for the command aside."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != "etl.toml"
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Anna and Eva in every place; Eva already removed by the ERP (deactivated once)."""
    root = tmp_path_factory.mktemp("seeded")
    home, erp_root = root / "home", root / "erp"
    shutil.copytree(SCHEMAS, home / "schemas")
    drop_customers(erp_root, "kunder_1.csv", [ANNA_ROW, EVA_ROW, GUSTAV_ROW])
    run_once(settings(home, erp_root), "customers")
    drop_customers(erp_root, "kunder_2.csv", [ANNA_ROW, GUSTAV_ROW])
    run_once(settings(home, erp_root), "customers")
    seed_orders_and_more(home)
    assert all(holders(home, (*EVA, *ANNA, *GUSTAV)).values()), "the seed lacks a value"
    return root


@pytest.fixture
def seeded(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the seeded home and ERP folder for one test."""
    shutil.copytree(template, tmp_path / "copy")
    return tmp_path / "copy" / "home", tmp_path / "copy" / "erp"


def test_forget_leaves_none_of_the_person_and_all_of_the_other(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    others_before = holders(home, (*ANNA, *GUSTAV))

    result = _forget(home, erp_root, "--customer", "K-1005")

    assert result.returncode == 0, result.stderr
    assert holders(home, EVA) == {value: [] for value in EVA}
    assert holders(home, (*ANNA, *GUSTAV)) == others_before
    for place in ("archive/customers", "state/snapshots/customers", "state/spool/orders",
                  "outbox/norce", "outbox/erp", "outbox/checks", "state/spool/parties"):  # fmt: skip
        assert f"  {place}: masked " in result.stdout
    assert "state/ledger.sqlite:documents" in result.stdout
    assert "orders_20261206T1000.csv" in result.stdout  # on the ERP's server: act there
    assert "Norce Commerce: 1 customer(s) (K-1005) and 2 order(s) (2001, 2003)" in result.stdout


def test_the_audit_record_names_the_request_and_places_but_no_person(
    seeded: tuple[Path, Path],
) -> None:
    home, erp_root = seeded

    _forget_here(home, erp_root, "--email", "Eva.Ek@example.se")

    (record,) = audit.records(home / "state" / "privacy")
    text = json.dumps(record, ensure_ascii=False)
    for value in (*EVA, "K-1005", "2001", "2003"):
        assert value.casefold() not in text.casefold()
    assert record["request"] == audit.request_id(
        home / "state" / "privacy", "email", "eva.ek@example.se"
    )
    assert record["places"]["archive/customers"] == {"files": 1, "values": 10}  # kunder_1.csv
    assert record["not_erased"] == {
        "erp_server_files": 1,
        "norce_customers": 1,
        "norce_orders": 2,
        "compressed_files_not_opened": 0,
        "unreadable_files": 0,
    }


def test_a_masked_archived_input_is_noted_in_its_manifest_and_stays_private(
    seeded: tuple[Path, Path],
) -> None:
    home, erp_root = seeded
    first = sorted((home / "archive" / "customers").glob("*/*/kunder_1.csv"))[0]
    first.chmod(0o600)  # as the product's umask leaves it

    _forget_here(home, erp_root, "--customer", "K-1005")

    manifest = json.loads((first.parent / "manifest.json").read_text(encoding="utf-8"))
    (erasure,) = manifest["erasures"]
    files = {f["name"]: f["sha256"] for f in erasure["files"]}
    assert files["kunder_1.csv"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert manifest["input"]["sha256"] != files["kunder_1.csv"]  # the hash as received stays
    assert erasure["request"].startswith("hmac-sha256:")
    assert first.read_bytes().decode("cp1252").splitlines()[1].startswith("K-1001;Anna;")
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_a_dry_run_changes_nothing_and_lists_the_places(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    nobody = _forget_here(home, erp_root, "--company", "no-such-company")
    before = _contents(home)

    dry = _forget_here(home, erp_root, "--dry-run", "--customer", "K-1005")

    assert "nothing found" in nobody
    assert _contents(home) == before
    assert "dry run" in dry
    assert "  archive/customers: would mask 10 value(s) in 1 file(s)" in dry
    assert "  state/snapshots/customers: would mask " in dry


def test_the_feeds_run_on_as_the_erp_says_after_an_erasure(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    _forget_here(home, erp_root, "--customer", "K-1005")

    olle = "K-1009;Olle;Ström;olle@example.se;;;;;;;;;;;;;SE"  # a new file, not kunder_2 again
    drop_customers(erp_root, "kunder_3.csv", [ANNA_ROW, GUSTAV_ROW, olle])
    run_once(settings(home, erp_root), "customers")
    drop_customers(erp_root, "kunder_4.csv", [ANNA_ROW, GUSTAV_ROW, olle, EVA_ROW])
    run_once(settings(home, erp_root), "customers")

    third, fourth = (m["counts"] for m in manifests(home, "customers")[2:])
    assert (third["removals"], third["changes"]) == (0, 0)  # Eva is not removed twice
    assert (fourth["reactivations"], fourth["adds"]) == (1, 0)  # back, as the ERP says
    sent = sorted((home / "outbox" / "norce" / "customers").glob("kunder_4-*/*-reactivate*.json"))
    assert sent and "eva.ek@example.se" in sent[0].read_text(encoding="utf-8")


def test_a_company_s_contacts_go_and_come_back_as_the_erp_says(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    others_before = holders(home, (*ANNA, *EVA))

    _forget_here(home, erp_root, "--company", "F-500")

    person, company_address = GUSTAV[:4], GUSTAV[4:]
    assert holders(home, person) == {value: [] for value in person}
    assert holders(home, (*ANNA, *EVA)) == others_before
    # The flat file gives the company its contact's address columns: the company's, it stays.
    for holding in holders(home, company_address).values():
        assert "state/snapshots/companies/" in " ".join(holding)
    olle = "K-1009;Olle;Ström;olle@example.se;;;;;;;;;;;;;SE"  # a new file, not kunder_2 again
    drop_customers(erp_root, "kunder_3.csv", [ANNA_ROW, GUSTAV_ROW, olle])
    run_once(settings(home, erp_root), "customers")
    drop_customers(erp_root, "kunder_4.csv", [ANNA_ROW, olle])
    run_once(settings(home, erp_root), "customers")
    third, fourth = (m["counts"] for m in manifests(home, "customers")[2:])
    assert (third["changes"], third["removals"]) == (1, 0)  # his values again, as a change
    assert fourth["removals"] == 1  # and when the ERP removes him, he is deactivated once

"""`run.py purge`: real runs leave archives, a later clock purges them down to their manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config.contract_files import load_contracts
from etl.config.contracts import FeedContract
from etl.config.settings import ArchiveSettings, LocalStoreSettings, OrderSettings, Settings
from etl.retention.purge import AreaSummary, describe, purge, strays
from etl.state.refused_local import LocalRefused
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import LocalStore
from tests.fixtures.orders import sample_body
from tests.support.masterdata import run_all, settings_for
from tests.support.paths import REPO, SCHEMAS

RAN = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
PEOPLE = ("buyer_numbers", "companies", "customers")  # shipped contracts keep them 90 days


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` by its relative path, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def drop_bad_customers(erp_root: Path) -> None:
    """A customers export without the columns the contracts need: refused whole by both feeds."""
    folder = erp_root / "customers"
    (folder / "kunder_20261121.csv").write_bytes(b"Namn;E-post\r\nAnna;anna@example.com\r\n")
    (folder / "kunder_20261121.csv.done").touch()


def by_area(summaries: list[AreaSummary]) -> dict[str, AreaSummary]:
    return {s.area: s for s in summaries}


@pytest.fixture
def archived(home: Path, erp_root: Path) -> tuple[Settings, dict[str, FeedContract]]:
    """Every sample file run once on RAN, and one customers file refused whole."""
    drop_bad_customers(erp_root)
    settings = settings_for(home, LocalStoreSettings(root=erp_root))
    run_all(settings, RAN)
    return settings, load_contracts(settings)


def test_run_folders_past_retention_keep_only_a_manifest_with_the_hashes(
    archived: tuple[Settings, dict[str, FeedContract]], home: Path
) -> None:
    settings, contracts = archived
    archive = home / "archive"
    before = snapshot(archive)
    assert any(p.startswith("customers/rejected/2026-11-20/") for p in before)
    assert any(p.endswith(".rejected.xlsx") for p in before if p.startswith("customers/"))

    # Not yet: 89 days after the runs finished (file times are no clock: set them far back).
    for path in archive.rglob("*"):
        os.utime(path, (0, 0), follow_symlinks=False)
    early = by_area(purge(settings, contracts, RAN + dt.timedelta(days=89)))
    assert early["customers"].folders == 0 and early["customers"].younger == 2
    assert snapshot(archive) == before

    later = RAN + dt.timedelta(days=91)
    dry = by_area(purge(settings, contracts, later, dry_run=True))
    assert snapshot(archive) == before
    assert dry["customers"].folders == 2 and dry["companies"].folders == 2
    assert "would purge 2 folder(s)" in describe(dry["customers"], dry_run=True)

    done = by_area(purge(settings, contracts, later))
    after = snapshot(archive)
    people = {p: b for p, b in before.items() if p.split("/")[0] in PEOPLE}
    manifests = [p for p in people if p.endswith("/manifest.json")]
    assert len(manifests) == 5  # a committed and a refused run of each party feed, one buyer run
    assert sorted(p for p in after if p.split("/")[0] in PEOPLE) == sorted(manifests)
    for path in manifests:
        folder = path.removesuffix("manifest.json")
        manifest = json.loads(after[path])
        assert manifest.pop("purged_at") == later.isoformat(timespec="seconds")
        assert manifest.pop("retention_days") == 90
        purged = manifest.pop("purged")
        assert manifest == json.loads(before[path])  # the rest as the run wrote it
        gone = {p.removeprefix(folder): b for p, b in people.items() if p.startswith(folder)}
        del gone["manifest.json"]
        assert purged == [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(gone.items())
        ]
    removed = sum(len(b) for p, b in people.items() if not p.endswith("/manifest.json"))
    assert sum(r.size for s in done.values() for r in s.removals) == removed
    # Feeds without [archive] retention_days keep everything.
    assert {p: b for p, b in after.items() if p.split("/")[0] not in PEOPLE} == {
        p: b for p, b in before.items() if p.split("/")[0] not in PEOPLE
    }
    assert describe(done["products"]) == (
        "products: kept forever (no [archive] retention_days in its contract)"
    )

    again = by_area(purge(settings, contracts, later + dt.timedelta(days=400)))
    assert snapshot(archive) == after
    assert (again["customers"].folders, again["customers"].purged_before) == (0, 2)


def test_a_run_is_aged_by_its_finished_at_and_a_refused_one_by_its_day(
    archived: tuple[Settings, dict[str, FeedContract]],
) -> None:
    settings, contracts = archived
    committed = RAN + dt.timedelta(days=90)  # finished_at is RAN: exactly 90 days old
    summary = by_area(purge(settings, contracts, committed, dry_run=True))["customers"]
    assert (summary.folders, summary.younger) == (1, 1)
    # The refused run has no finished_at: its date folder counts from the end of that day.
    day_over = dt.datetime(2026, 11, 21, tzinfo=dt.UTC) + dt.timedelta(days=90)
    summary = by_area(purge(settings, contracts, day_over, dry_run=True))["customers"]
    assert (summary.folders, summary.younger) == (2, 0)


def test_symlinks_staged_runs_and_unknown_folders_are_left_alone(
    archived: tuple[Settings, dict[str, FeedContract]], home: Path, tmp_path: Path
) -> None:
    settings, contracts = archived
    archive = home / "archive"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("Anna;anna@example.com\n")
    [run] = (archive / "customers" / "2026-11-20").iterdir()
    (run / "elsewhere.csv").symlink_to(outside / "secret.csv")
    (archive / "customers" / "2026-11-19").mkdir()
    (archive / "customers" / "2026-11-19" / "linked-run").symlink_to(outside)
    staged = archive / "customers" / "2026-11-20" / ".20261120T100000000-customers-x.part"
    staged.mkdir()
    (staged / "kunder.csv").write_text("in flight")
    (archive / "retired_feed" / "2026-01-01" / "r1").mkdir(parents=True)
    (archive / "retired_feed" / "2026-01-01" / "r1" / "manifest.json").write_text("{}")

    summary = by_area(purge(settings, contracts, RAN + dt.timedelta(days=365)))["customers"]

    assert (outside / "secret.csv").read_text() == "Anna;anna@example.com\n"
    assert (run / "elsewhere.csv").is_symlink()
    assert sorted(p.name for p in run.iterdir()) == ["elsewhere.csv", "manifest.json"]
    assert (staged / "kunder.csv").read_text() == "in flight"
    assert any("elsewhere.csv: a symlink" in s for s in summary.skipped)
    assert any("linked-run: a symlink, not followed" in s for s in summary.skipped)
    assert strays(settings, contracts) == ["retired_feed"]
    assert (archive / "retired_feed" / "2026-01-01" / "r1" / "manifest.json").exists()


# -- orders --------------------------------------------------------------------------------------


def orders_home(home: Path, erp: Path, days: int | None) -> Settings:
    shutil.copytree(SCHEMAS / "orders", home / "schemas" / "orders")
    return Settings(
        home=home,
        schemas_dir=home / "schemas",
        stores={"erp": LocalStoreSettings(root=erp)},
        archive=ArchiveSettings(orders_retention_days=days),
    )


def receive_and_export(settings: Settings, erp: Path, at: dt.datetime) -> None:
    """Two sample orders and one refused body in, then every layout exported, all at `at`."""
    state = settings.folder("state")
    book = OrderBook(state / "ledger.sqlite")
    spool = Spool(state / "spool" / "orders")
    inbound = OrderInbound(
        book, spool, settings.folder("archive") / "orders" / "rejected", OrderSettings(), lambda: at
    )
    store = LocalStore("erp", LocalStoreSettings(root=erp))
    try:
        for name in ("order_1001", "order_1002"):
            assert inbound.accept(sample_body(name), "application/json", "push").status == 200
        refused = b'{"ClientOrderRef": "", "SellTo": {"Person": {"Email": "eva@example.com"}}}'
        assert inbound.accept(refused, "application/json", "push").status == 400
        for layout in load_layouts(settings).values():
            summary = export_orders(settings, book, spool, store, layout, lambda: at)
            assert summary.files and not summary.error
    finally:
        store.close()
        book.close()


def test_order_files_and_refused_bodies_follow_the_settings(home: Path, tmp_path: Path) -> None:
    settings = orders_home(home, tmp_path / "erp", days=30)
    receive_and_export(settings, tmp_path / "erp", RAN)
    archive = home / "archive"
    orders = archive / "orders"
    before = snapshot(orders)
    exported = {p: b for p, b in before.items() if p.startswith("exported/")}
    assert {p.split("/")[1] for p in exported} == {"erp_csv", "peppol_order"}
    assert len([p for p in before if p.startswith("rejected/")]) == 2  # body and reason

    not_yet = RAN + dt.timedelta(days=30, seconds=-1)
    assert by_area(purge(settings, {}, not_yet))["orders/rejected"].younger == 1
    assert snapshot(orders) == before

    later = RAN + dt.timedelta(days=31)
    summaries = by_area(purge(settings, {}, later))
    after = snapshot(orders)
    assert sorted(after) == [
        "exported/erp_csv/2026-11-20/manifest.json",
        "exported/peppol_order/2026-11-20/manifest.json",
        "rejected/manifest.json",
    ]
    for layout in ("erp_csv", "peppol_order"):
        manifest = json.loads(after[f"exported/{layout}/2026-11-20/manifest.json"])
        prefix = f"exported/{layout}/2026-11-20/"
        assert (manifest["layout"], manifest["day"]) == (layout, "2026-11-20")
        assert manifest["purged"] == [
            {
                "name": p.removeprefix(prefix),
                "size": len(b),
                "sha256": hashlib.sha256(b).hexdigest(),
            }
            for p, b in sorted(exported.items())
            if p.startswith(prefix)
        ]
        assert summaries[f"orders/exported/{layout}"].folders == 1
    refused = json.loads(after["rejected/manifest.json"])["purged"]
    assert [(e["name"], e["sha256"], e["purged_at"]) for e in refused] == [
        (p.removeprefix("rejected/"), hashlib.sha256(b).hexdigest(), later.isoformat())
        for p, b in sorted(before.items())
        if p.startswith("rejected/")
    ]

    purge(settings, {}, later + dt.timedelta(days=1))
    assert snapshot(orders) == after


def test_retaken_bodies_on_the_disk_are_purged_like_refused_ones(
    home: Path, tmp_path: Path
) -> None:
    # A retaken body is the same personal data as the refused one it was: kept past the
    # setting on one VM's disk it would never go (the bucket's copies already did).
    settings = orders_home(home, tmp_path / "erp", days=30)
    receive_and_export(settings, tmp_path / "erp", RAN)
    orders = home / "archive" / "orders"
    refused = LocalRefused(orders / "rejected")
    [name] = refused.names()
    refused.set_aside(name)  # what `run.py retake` does once the body is booked
    taken = snapshot(orders / "retaken")
    assert sorted(taken) == [name, name + ".reason.txt"]

    assert by_area(purge(settings, {}, RAN + dt.timedelta(days=29)))["orders/retaken"].younger == 1
    assert snapshot(orders / "retaken") == taken

    later = RAN + dt.timedelta(days=31)
    summary = by_area(purge(settings, {}, later))["orders/retaken"]
    after = snapshot(orders / "retaken")
    assert sorted(after) == ["manifest.json"]
    purged = json.loads(after["manifest.json"])["purged"]
    assert [(e["name"], e["sha256"], e["purged_at"]) for e in purged] == [
        (n, hashlib.sha256(b).hexdigest(), later.isoformat()) for n, b in sorted(taken.items())
    ]
    assert (summary.folders, summary.retention_days) == (1, 30)


def test_order_archives_are_kept_forever_without_the_setting(home: Path, tmp_path: Path) -> None:
    settings = orders_home(home, tmp_path / "erp", days=None)
    receive_and_export(settings, tmp_path / "erp", RAN)
    before = snapshot(home / "archive")

    summaries = purge(settings, {}, RAN + dt.timedelta(days=3650))

    assert snapshot(home / "archive") == before
    assert describe(by_area(summaries)["orders/rejected"]) == (
        "orders/rejected: kept forever (no [archive] orders_retention_days in the settings)"
    )


# -- the command ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_command_purges_by_the_wall_clock_and_dry_run_removes_nothing(
    home: Path, erp_root: Path
) -> None:
    (home / "etl.toml").write_text(
        f'home = "."\n[stores.erp]\nkind = "local"\nroot = "{erp_root}"\n', encoding="utf-8"
    )
    settings = settings_for(home, LocalStoreSettings(root=erp_root))
    run_all(settings, dt.datetime(2020, 1, 6, 12, 0, tzinfo=dt.UTC))  # long past 90 days
    before = snapshot(home / "archive")

    def purge_command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "run.py"), "purge", *args],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = purge_command("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert snapshot(home / "archive") == before
    assert "would remove archive/customers/2020-01-06/" in dry.stdout
    assert "customers: would purge 1 folder(s)" in dry.stdout
    assert dry.stdout.splitlines()[-1].startswith("purge would remove: archive ")
    assert "outbox/norce/customers: would remove 0 files" in dry.stdout  # written today

    real = purge_command()
    assert real.returncode == 0, real.stderr
    assert "customers: purged 1 folder(s)" in real.stdout
    assert "products: kept forever" in real.stdout
    assert "outbox/norce/products: kept forever (no [archive] retention_days" in real.stdout
    assert "spool/orders: kept forever (no [archive] orders_retention_days" in real.stdout
    last = real.stdout.splitlines()[-1]
    assert last.startswith("purge removed: archive ") and "outbox/norce 0 files" in last
    [customers] = (home / "archive" / "customers" / "2020-01-06").iterdir()
    assert [p.name for p in customers.iterdir()] == ["manifest.json"]
    assert "purged_at" in json.loads((customers / "manifest.json").read_text())

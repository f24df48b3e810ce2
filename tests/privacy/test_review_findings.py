"""The review of `forget` (issue 20): another person's data, orders on their way, crashes."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

import etl.privacy.forget as forget_module
from etl.cli import _parser
from etl.config.contract_files import load_contracts
from etl.errors import EtlError
from etl.privacy.masking import Masker, Person
from etl.privacy.rewrite import xlsx_file, xml_file
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.transport import LocalStore
from tests.support.masterdata import run_once
from tests.support.paths import SCHEMAS
from tests.support.privacy_seed import (
    ANNA_ROW,
    AT,
    EVA,
    EVA_ROW,
    GUSTAV_ROW,
    drop_customers,
    holders,
    order,
    seed_orders_and_more,
    settings,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("review")
    home, erp_root = root / "home", root / "erp"
    shutil.copytree(SCHEMAS, home / "schemas")
    drop_customers(erp_root, "kunder_1.csv", [ANNA_ROW, EVA_ROW, GUSTAV_ROW])
    run_once(settings(home, erp_root), "customers")
    drop_customers(erp_root, "kunder_2.csv", [ANNA_ROW, GUSTAV_ROW])
    run_once(settings(home, erp_root), "customers")
    seed_orders_and_more(home)
    return root


@pytest.fixture
def seeded(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(template, tmp_path / "copy")
    return tmp_path / "copy" / "home", tmp_path / "copy" / "erp"


def _forget(home: Path, erp_root: Path, *args: str) -> str:
    parsed = _parser().parse_args(["forget", *args])
    config = settings(home, erp_root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert parsed.handler(parsed, config, load_contracts(config)) == 0
    return out.getvalue()


def _spool(home: Path, ref: str, body: bytes, *, exported: bool) -> None:
    state = home / "state"
    spooled = Spool(state / "spool" / "orders").put(ref, body, "json")
    book = OrderBook(state / "ledger.sqlite")
    try:
        book.receive(ref, spooled.sha256, spooled.path.name, "json", "push", AT)
        if exported:
            row = book.order(ref)
            assert row is not None
            book.begin_export(f"x-{ref}", "erp_csv", f"orders_{ref}.csv", [row], "0" * 64, 1, AT)
            book.finish_export(f"x-{ref}", AT)
    finally:
        book.close()


def _anna_row(home: Path) -> dict[str, object]:
    latest = sorted((home / "state/snapshots/customers").glob("*.parquet"))[-1]
    (row,) = pl.read_parquet(latest).filter(pl.col("code") == "K-1001").to_dicts()
    return row


def _hashes(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.parent.name != "locks" and p.name != "salt"
    }


def test_an_order_ref_inside_another_customers_code_leaves_that_customer_whole(
    seeded: tuple[Path, Path],
) -> None:
    """Eva's order 1001 goes to Anna's street; Anna's customer code is K-1001."""
    home, erp_root = seeded
    gift = order("1001", "K-1005", "eva.ek@example.se", "Eva", "Ek", "Storgatan 1", "Stockholm")
    _spool(home, "1001", gift, exported=True)
    anna_order = sorted((home / "state/spool/orders").glob("2002*"))[0]
    before = anna_order.read_bytes()

    _forget(home, erp_root, "--customer", "K-1005")

    row = _anna_row(home)
    assert (row["address_line1"], row["city"]) == ("Storgatan 1", "Stockholm")
    assert anna_order.read_bytes() == before
    kunder_1 = sorted(home.glob("archive/customers/*/*/kunder_1.csv"))[0]
    assert "K-1001;Anna;Andersson;anna.andersson@example.se" in kunder_1.read_text("cp1252")


def test_a_shared_value_inside_an_email_address_stays(seeded: tuple[Path, Path]) -> None:
    """Eva's order went to one Anna; anna.andersson@example.se is not hers to lose."""
    home, erp_root = seeded
    gift = order("1002", "K-1005", "eva.ek@example.se", "Anna", "Ek", "Ekvägen 7", "Malmö")
    to_anna = b'"ShipTo": {"Person": {"Email": "anna.andersson@example.se", '
    _spool(home, "1002", gift.replace(b'"ShipTo": {"Person": {', to_anna), exported=True)

    _forget(home, erp_root, "--customer", "K-1005")

    body = sorted((home / "state/spool/orders").glob("1002*"))[0].read_text(encoding="utf-8")
    assert "anna.andersson@example.se" in body


def test_forget_refuses_while_the_persons_order_is_not_exported(
    seeded: tuple[Path, Path],
) -> None:
    home, erp_root = seeded
    body = order("3005", "K-1005", "eva.ek@example.se", "Eva", "Ek", "Ekvägen 7", "Malmö")
    _spool(home, "3005", body, exported=False)
    before = _hashes(home)

    with pytest.raises(EtlError, match="order 3005 not yet exported"):
        _forget(home, erp_root, "--customer", "K-1005")

    assert _hashes(home) == before


def test_export_holds_an_order_whose_spooled_body_no_longer_matches_the_book(
    seeded: tuple[Path, Path],
) -> None:
    home, erp_root = seeded
    state = home / "state"
    body = order("3001", "K-1001", "anna.andersson@example.se", "Anna", "Andersson",
                 "Storgatan 1", "Stockholm")  # fmt: skip
    _spool(home, "3001", body, exported=False)
    spooled = sorted((state / "spool/orders").glob("3001*"))[0]
    spooled.write_bytes(body.replace(b"Anna", b"[erased]"))
    config = settings(home, erp_root)
    spool, book = Spool(state / "spool" / "orders"), OrderBook(state / "ledger.sqlite")
    store = LocalStore("erp", config.stores["erp"])
    try:
        for layout in load_layouts(config).values():
            export_orders(config, book, spool, store, layout, lambda: dt.datetime.now(dt.UTC))
        row = book.order("3001")
    finally:
        book.close()

    assert row is not None and row.state == "held"
    assert "does not match" in (row.reason or "")
    assert not [p for p in erp_root.rglob("*") if p.is_file() and b"[erased]" in p.read_bytes()]


def test_a_forget_cut_short_completes_when_run_again(
    seeded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (power cut) after the files were masked: the re-run still knows the person."""
    home, erp_root = seeded

    def power_cut(*_: object, **__: object) -> None:
        raise KeyboardInterrupt("killed mid-forget")

    with monkeypatch.context() as patch:
        patch.setattr(forget_module, "mask_ledger", power_cut)
        with pytest.raises(KeyboardInterrupt):
            _forget(home, erp_root, "--customer", "K-1005")
    _forget(home, erp_root, "--customer", "K-1005")

    assert holders(home, EVA) == {value: [] for value in EVA}
    assert not list((home / "state/privacy").glob("pending/*"))


def test_a_malformed_file_is_masked_as_text_and_forget_carries_on(
    seeded: tuple[Path, Path],
) -> None:
    home, erp_root = seeded
    rejected = home / "archive/orders/rejected"
    rejected.mkdir(parents=True, exist_ok=True)
    (rejected / "20261206T100000Z-abcd.json").write_text(
        '{"ClientOrderRef": "2009", "SellTo": {"Email": "eva.ek@example.se", "FirstName": "Eva"',
        encoding="utf-8",
    )

    _forget(home, erp_root, "--customer", "K-1005")

    assert holders(home, EVA) == {value: [] for value in EVA}
    assert (home / "state/privacy/erasures.jsonl").is_file()


def test_forget_twice_finds_nothing_left_and_changes_nothing(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    _forget(home, erp_root, "--customer", "K-1005")
    before = _hashes(home)

    printed = _forget(home, erp_root, "--customer", "K-1005")

    changed = {k for k, v in _hashes(home).items() if before.get(k) != v}
    assert changed <= {"state/privacy/erasures.jsonl"}
    assert "masked" not in printed.replace("would mask", "")


def test_an_xml_export_with_a_wrapper_keeps_the_other_customers_values(tmp_path: Path) -> None:
    path = tmp_path / "customers.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<Export><Header><Created>2026-12-01</Created>'
        "</Header><Customers><Customer><Code>K-1005</Code><First>Eva</First><City>Malmö</City>"
        "</Customer><Customer><Code>K-2000</Code><First>Eva</First><City>Malmö</City></Customer>"
        "</Customers></Export>",
        encoding="utf-8",
    )
    eva = Masker(Person(frozenset({"K-1005"}), frozenset(), frozenset({"Eva", "Malmö"})))

    assert xml_file(path, eva, True) == 2

    text = path.read_text(encoding="utf-8")
    assert "<Code>K-2000</Code><First>Eva</First><City>Malmö</City>" in text
    assert "<Code>K-1005</Code><First>[erased]</First><City>[erased]</City>" in text


def test_a_gzipped_archived_input_is_masked_too(seeded: tuple[Path, Path]) -> None:
    home, erp_root = seeded
    plain = sorted(home.glob("archive/customers/*/*/kunder_1.csv"))[0]
    packed = plain.with_name("kunder_9.csv.gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    _forget(home, erp_root, "--customer", "K-1005")

    text = gzip.decompress(packed.read_bytes()).decode("cp1252")
    assert "eva.ek@example.se" not in text and "K-1005;[erased];[erased]" in text
    assert "K-1001;Anna;Andersson" in text


def test_an_xlsx_report_loses_her_numbers_too(tmp_path: Path) -> None:
    path = tmp_path / "credit.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["CustomerNo", "Name", "Phone", "Amount"])
    sheet.append(["K-1005", "Eva Ek", 40765432100, 100])
    sheet.append(["K-1001", "Anna Andersson", 812345670, 50])
    book.save(path)
    eva = Masker(Person(frozenset({"K-1005"}), frozenset({"40765432100"}), frozenset({"Eva"})))

    assert xlsx_file(path, eva, True) == 2

    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[1][:3] == ("K-1005", "[erased] Ek", "[erased]")
    assert rows[2][:3] == ("K-1001", "Anna Andersson", 812345670)

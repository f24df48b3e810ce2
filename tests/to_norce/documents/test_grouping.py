"""Rows -> documents: head and lines per number, whole or not at all, in file order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl.config.contract_files import load_contract
from etl.config.contracts import FeedContract
from etl.config.settings import Settings
from etl.to_norce.documents.grouping import Grouped, OrphanLines, group
from etl.to_norce.feed import parse_and_validate
from tests.support.documents import INVOICE_HEADER, invoice_contract
from tests.support.paths import SAMPLES, SCHEMAS


def _contract(tmp_path: Path, text: str) -> FeedContract:
    path = tmp_path / "contract.toml"
    path.write_text(text, encoding="utf-8")
    return load_contract(path, Settings())


def _group(tmp_path: Path, rows: list[str], contract: FeedContract | None = None) -> Grouped:
    contract = contract or _contract(tmp_path, invoice_contract())
    path = tmp_path / "invoices.csv"
    path.write_text("\n".join([INVOICE_HEADER, *rows]) + "\n", encoding="utf-8")
    return group(parse_and_validate(path, contract, tmp_path / "scratch"), contract)


def _codes(grouped: Grouped) -> list[tuple[int, str | None, str]]:
    frame = grouped.rejections.sort("line", "field", nulls_last=True)
    return [(r["line"], r["field"], r["code"]) for r in frame.iter_rows(named=True)]


def test_rows_become_one_document_per_number_with_lines_in_line_order(tmp_path: Path) -> None:
    grouped = _group(
        tmp_path,
        [
            "INV-2;1002;SO-2;2026-11-20;SEK;1;;1;100200;1;159.20;39.80",
            "INV-1;1001;SO-1;2026-11-20;SEK;0;;2;FREIGHT;1;39.20;9.80",
            "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
        ],
    )

    assert [d.number for d in grouped.documents] == ["INV-2", "INV-1"]  # first appearance
    first = grouped.documents[1]
    assert [line["part_no"] for line in first.lines] == ["100123", "FREIGHT"]
    assert first.source_lines == (4, 3)  # the file lines of its rows, in line order
    assert first.head["client_order_ref"] == 1001
    assert first.lines[0]["unit_price"] == Decimal("79.20")
    assert not grouped.rejections.height and grouped.held == 0


def test_rows_that_disagree_on_the_head_hold_the_whole_document(tmp_path: Path) -> None:
    grouped = _group(
        tmp_path,
        [
            "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
            "INV-1;1001;SO-1;2026-11-21;SEK;0;;2;FREIGHT;1;39.20;9.80",
            "INV-2;1002;SO-2;2026-11-20;SEK;1;;1;100200;1;159.20;39.80",
        ],
    )

    assert [d.number for d in grouped.documents] == ["INV-2"]
    assert grouped.held == 1
    assert _codes(grouped) == [
        (2, None, "document_incomplete"),
        (3, "invoice_date", "head_mismatch"),
    ]
    message = grouped.rejections.filter(code="head_mismatch")["message"][0]
    assert "'2026-11-21' here but '2026-11-20' on line 2" in message
    assert "none of it is sent" in message


def test_a_rejected_line_holds_its_whole_document_back(tmp_path: Path) -> None:
    grouped = _group(
        tmp_path,
        [
            "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
            "INV-1;1001;SO-1;2026-11-20;SEK;0;;2;FREIGHT;one;39.20;9.80",
            "INV-2;1002;SO-2;2026-11-20;SEK;1;;1;100200;1;159.20;39.80",
        ],
    )

    # An invoice missing a line would capture the wrong amount: none of INV-1 goes.
    assert [d.number for d in grouped.documents] == ["INV-2"]
    assert _codes(grouped) == [(2, None, "document_incomplete")]
    assert "whole or not at all" in grouped.rejections["message"][0]


def test_duplicate_lines_hold_the_document(tmp_path: Path) -> None:
    contract = _contract(tmp_path, invoice_contract())
    path = tmp_path / "dup.csv"
    rows = [
        "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
        "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100124;1;79.20;19.80",
    ]
    path.write_text("\n".join([INVOICE_HEADER, *rows]) + "\n", encoding="utf-8")
    validated = parse_and_validate(path, contract, tmp_path)

    grouped = group(validated, contract)

    assert validated.rejections["code"].to_list() == ["duplicate_key", "duplicate_key"]
    assert grouped.documents == [] and grouped.held == 0  # no valid row of it is left


def test_a_line_without_a_document_number_refuses_the_file(tmp_path: Path) -> None:
    with pytest.raises(OrphanLines) as refused:
        _group(
            tmp_path,
            [
                "INV-1;1001;SO-1;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
                ";1001;SO-1;2026-11-20;SEK;0;;2;FREIGHT;1;39.20;9.80",
            ],
        )

    assert "line(s) 3 have no invoice_no" in str(refused.value)
    assert refused.value.code == "orphan_line"
    assert refused.value.rejections["code"].to_list() == ["required"]


def test_an_invoice_must_name_its_order_and_add_up_to_its_total(tmp_path: Path) -> None:
    grouped = _group(
        tmp_path,
        [
            "INV-1;;;2026-11-20;SEK;0;;1;100123;2;79.20;19.80",
            "INV-2;1002;SO-2;2026-11-20;SEK;1;200.00;1;100200;1;159.20;39.80",
            "INV-2;1002;SO-2;2026-11-20;SEK;1;200.00;2;FREIGHT;1;0.80;0.20",
            "INV-3;1003;SO-3;2026-11-20;SEK;1;190.00;1;100200;1;159.20;39.80",
        ],
    )

    assert [d.number for d in grouped.documents] == ["INV-2"]
    assert _codes(grouped) == [
        (2, "client_order_ref", "required"),
        (5, "total_amount", "total_mismatch"),
    ]
    mismatch = grouped.rejections.filter(code="total_mismatch")["message"][0]
    assert "the lines add up to 199.00 including VAT and round-off" in mismatch
    assert "the stated total is 190.00; nothing of invoice INV-3 is sent" in mismatch


def test_an_unmapped_erp_status_is_rejected_with_the_codes_the_contract_maps(
    tmp_path: Path,
) -> None:
    contract = load_contract(SCHEMAS / "order_status.toml", Settings())
    path = SAMPLES / "order_status" / "orderstatus_20261122.csv"

    grouped = group(parse_and_validate(path, contract, tmp_path), contract)

    assert [d.number for d in grouped.documents] == [
        "SO-100045 / 10",
        "SO-100046 / 10",
        "SO-100046 / 20",
        "SO-100045 / 30",
    ]
    [row] = grouped.rejections.iter_rows(named=True)
    assert (row["line"], row["code"], row["value"]) == (6, "enum", "55")
    assert "(mapped: 10, 15, 20, 30, 90)" in row["message"]


def test_namespaced_ubl_lines_nest_under_their_invoice(tmp_path: Path) -> None:
    contract = load_contract(SCHEMAS / "invoices.toml", Settings())
    path = SAMPLES / "invoices" / "invoice_INV-5566.xml"

    grouped = group(parse_and_validate(path, contract, tmp_path), contract)

    [invoice] = grouped.documents
    assert invoice.number == "INV-5566"
    assert invoice.head["erp_order_no"] == "SO-100045"
    assert invoice.head["is_last_invoice"] == "0"
    assert invoice.head["total_amount"] == Decimal("247")
    assert [(line["part_no"], line["quantity"]) for line in invoice.lines] == [
        ("100123", 2),
        ("FRAKT", 1),
    ]

"""Document contracts and entities: options checked at load, exact amounts, stable document hashes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.entities import ENTITIES, DocumentEntity
from etl.entities.checks import MAX_AMOUNT
from etl.entities.document import Document, restore
from etl.entities.invoice import INVOICE
from etl.errors import ConfigError
from tests.support.documents import invoice_contract
from tests.support.paths import SCHEMAS

DOCUMENTS = [e for e in ENTITIES.values() if isinstance(e, DocumentEntity)]


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "feed.toml"
    path.write_text(text, encoding="utf-8")
    return load_contract(path, Settings())


def test_the_document_entities_are_registered_with_their_methods() -> None:
    assert {e.name: (e.via, e.method) for e in DOCUMENTS} == {
        "order_status": ("order_service", "Order/SendOrderStatus"),
        "delivery_note": ("order_service", "Order/CreateDeliveryNote"),
        "invoice": ("order_service", "Order/CreateInvoice"),
        "credit": ("order_service", "Order/CreditPayment"),
        "buyer_number": ("party_codes", "Customer/ImportCompanies+ImportCustomers"),
    }


def test_the_status_map_takes_only_the_21_norce_order_statuses(tmp_path: Path) -> None:
    text = (SCHEMAS / "order_status.toml").read_text(encoding="utf-8")

    with pytest.raises(ConfigError) as bad:
        _load(tmp_path, text.replace('"30" = "Delivered"', '"30" = "Shipped"'))
    with pytest.raises(ConfigError) as empty:
        _load(tmp_path, text.split("[options.status_map]")[0] + "[options]\nstatus_map = {}\n")

    assert bad.value.key == "options.status_map.30"
    assert "'Confirmed'" in bad.value.problem and "'Reserved'" in bad.value.problem
    assert empty.value.key == "options.status_map"


def test_is_last_invoice_is_mapped_or_defaulted_never_left_to_norces_default(
    tmp_path: Path,
) -> None:
    unmapped = invoice_contract().replace('"Last" = "is_last_invoice"\n', "")

    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, unmapped)
    always = _load(
        tmp_path, unmapped.replace("[options]", '[defaults]\nis_last_invoice = "1"\n\n[options]')
    )

    assert refused.value.problem == "required field 'is_last_invoice' is not mapped"
    assert always is not None


def test_a_credit_contract_must_map_the_credited_invoice(tmp_path: Path) -> None:
    text = (SCHEMAS / "credits.toml").read_text(encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, text.replace('"Krediterad faktura" = "credited_invoice_no"\n', ""))

    assert refused.value.problem == "required field 'credited_invoice_no' is not mapped"


def _failures(entity: DocumentEntity, field: str, value: object) -> set[str]:
    row = {f: None for f in entity.fields()} | {field: value}
    frame = pl.DataFrame([row], schema=entity.fields())
    try:
        entity.schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        failed = pl.DataFrame(exc.failure_cases).filter(pl.col("index").is_not_null())
        return set(failed["column"].to_list())
    return set()


@pytest.mark.parametrize(
    ("entity", "field"),
    [
        (e, f)
        for e in DOCUMENTS
        for f, t in e.fields().items()
        # Narrower decimals (a VAT rate) cannot hold more digits than a float keeps.
        if isinstance(t, pl.Decimal) and (t.precision or 38) > 15
    ],
    ids=lambda x: getattr(x, "name", x),
)
def test_no_amount_accepts_a_value_json_would_round(entity: DocumentEntity, field: str) -> None:
    inexact = Decimal("12345678901234.5678")  # a float keeps 15-17 digits
    assert field in _failures(entity, field, inexact)
    assert field in _failures(entity, field, -inexact)
    assert field not in _failures(entity, field, Decimal("1.5"))


def test_client_order_ref_fits_the_int_the_order_service_takes() -> None:
    assert "client_order_ref" in _failures(INVOICE, "client_order_ref", 2**31)
    assert "client_order_ref" not in _failures(INVOICE, "client_order_ref", 2**31 - 1)


money = st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=4)
lines = st.lists(
    st.fixed_dictionaries(
        {
            "line_no": st.integers(1, 99_999),
            "part_no": st.text("ABC123-", min_size=1, max_size=8),
            "description": st.none() | st.text(max_size=20),
            "quantity": st.integers(0, 999_999),
            "unit_price": money,
            "unit_vat": st.none() | money,
            "vat_rate": st.none() | st.decimals(min_value=0, max_value=100, places=2),
        }
    ),
    max_size=5,
)


@settings(max_examples=100, deadline=None)
@given(lines=lines, day=st.dates(), total=st.none() | money)
def test_a_document_survives_the_book_and_its_hash_follows_its_content(
    lines: list[dict[str, object]], day: dt.date, total: Decimal | None
) -> None:
    head = {f: None for f in INVOICE.head_fields} | {
        "invoice_no": "INV-1",
        "invoice_date": day,
        "total_amount": total,
        "currency": "SEK",
    }
    document = Document("invoice", "INV-1", head, tuple(lines))

    back = restore("invoice", "INV-1", document.canonical(), INVOICE.fields())

    assert back.canonical() == document.canonical() and back.sha == document.sha
    assert back.head["invoice_date"] == day and back.head["total_amount"] == total
    changed = Document("invoice", "INV-1", {**head, "currency": "EUR"}, tuple(lines))
    assert changed.sha != document.sha

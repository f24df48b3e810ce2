"""Names, e-mail addresses, phone numbers, addresses and personal numbers never reach a log.

Real inputs through the real edges: order bodies into the receiver's inbound and the export
job, a customers export with bad rows through a run against the Norce stand-in. Every log
record (message, arguments, traceback) and every stored reason is searched for the values.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, OrderSettings, Settings
from etl.state.ledger.feed_runs import Ledger
from etl.state.spool import Spool
from etl.to_erp.files.export import export_orders
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.inbound import OrderInbound
from etl.transport import LocalStore
from tests.support.clock import NOW
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.paths import SCHEMAS

# One person, as an order body and a customers export carry them.
PERSON = (
    "Sigrid",
    "Sjöberg",
    "sigrid.sjoberg@example.se",
    "19900101-1239",
    "199001011239",
    "070-987 65 43",
    "Sjögatan 4",
)


def leaked(caplog: pytest.LogCaptureFixture, *texts: str) -> list[str]:
    """The personal values found in any log record, or in `texts` (stored reasons)."""
    logged = [r.getMessage() for r in caplog.records] + [caplog.text, *texts]
    return [value for value in PERSON for text in logged if value in text]


@pytest.fixture
def inbound(tmp_path: Path) -> Iterator[OrderInbound]:
    state = tmp_path / "state"
    book = OrderBook(state / "ledger.sqlite")
    yield OrderInbound(
        book,
        Spool(state / "spool" / "orders"),
        tmp_path / "archive" / "orders" / "rejected",
        OrderSettings(),
        lambda: NOW,
    )
    book.close()


REFUSED_JSON = (
    '{"ClientOrderRef": "3001", "CurrencyCode": "SEK", '
    '"SellTo": {"Person": {"FirstName": {"Name": "Sigrid"}, "LastName": "Sjöberg", '
    '"Email": ["sigrid.sjoberg@example.se"], "SSN": 199001011239, '
    '"CellPhone": "070-987 65 43", "Address": "Sjögatan 4"}}}'
).encode()
# An unescaped name in a company name: libxml2's own message would quote it.
REFUSED_XML = (
    "<OrderRequest><ClientOrderRef>3002</ClientOrderRef><SellTo><Company>"
    "<Name>Bygg &Sjöberg; AB</Name></Company><Person><SSN>19900101-1239</SSN>"
    "<Email>sigrid.sjoberg@example.se</Email></Person></SellTo></OrderRequest>"
).encode()


def test_an_order_with_values_of_the_wrong_kind_is_held_without_its_values(
    inbound: OrderInbound, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    answer = inbound.accept(REFUSED_JSON, "application/json", "push")

    assert answer.status == 200  # readable: taken and held, never refused (issue 13)
    held = inbound.book.order("3001")
    assert held is not None and held.state == "held" and held.reason
    assert leaked(caplog, held.reason) == []
    # Still says where each problem is, for the person who looks.
    assert "SellTo.Person.Email" in held.reason and "SellTo.Person.FirstName" in held.reason


def test_a_refused_order_body_is_explained_without_its_values(
    inbound: OrderInbound, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    answer = inbound.accept(REFUSED_XML, "application/xml", "push")

    assert answer.status == 400
    description = str(answer.body["Description"])
    [reason] = (tmp_path / "archive" / "orders" / "rejected").glob("*.reason.txt")
    stored = reason.read_text(encoding="utf-8")
    assert leaked(caplog, description, stored) == []
    # Still says where the problem is, for the person who looks.
    expected = "undeclared entity at line 1"
    assert expected in description and expected in stored


def test_a_spooled_body_that_no_longer_reads_is_held_without_its_values(
    inbound: OrderInbound, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    valid = b'{"ClientOrderRef": "3003", "CurrencyCode": "SEK", "Items": [{"PartNo": "1"}]}'
    assert inbound.accept(valid, "application/json", "push").status == 200
    row = inbound.book.order("3003")
    assert row is not None
    # The spool file changed under us (a disk fault, a hand edit): now it is not an order.
    (inbound.spool.folder / row.spool_name).write_bytes(REFUSED_XML.replace(b"3002", b"3003"))
    home = tmp_path
    shutil.copytree(SCHEMAS / "orders", home / "schemas" / "orders")
    store_settings = LocalStoreSettings(root=tmp_path / "erp")
    settings = Settings(home=home, schemas_dir=home / "schemas", stores={"erp": store_settings})
    layout = load_layouts(settings)["erp_csv"]
    caplog.set_level(logging.DEBUG)

    with LocalStore("erp", store_settings) as store:
        summary = export_orders(settings, inbound.book, inbound.spool, store, layout, lambda: NOW)

    held = inbound.book.order("3003")
    assert held is not None and held.state == "held" and held.reason
    assert "cannot be read" in held.reason
    assert leaked(caplog, held.reason, *summary.held.values()) == []


# -- a customers export --------------------------------------------------------------------------

HEADER = (
    "Kundnr;Förnamn;Efternamn;E-post;Telefon;Mobil;Personnr;Företagsnr;Företag;Orgnr;Momsnr;"
    "Prislista;Adress;Adress2;Postnr;Ort;Land"
)
COMPANY = "F-700;Sjöberg Bygg AB;556036-0793;;STD-SEK;Sjögatan 4;;111 22;Stockholm;SE"
PRODUCT_ROWS = [
    f"K-7001;Sigrid;Sjöberg;sigrid.sjoberg@example.se;070-987 65 43;;19900101-1239;{COMPANY}",
    # Bad rows: an e-mail without @, a personal number too long, a country that is no code.
    "K-7002;Sigrid;Sjöberg;sigrid.sjoberg(at)example.se;;;;;;;;;Sjögatan 4;;111 22;Stockholm;SE",
    "K-7003;Sigrid;Sjöberg;sigrid@example.org;;;19900101-1239-19900101;;;;;;;;;;SE",
    "K-7004;Sigrid;Sjöberg;sigrid@example.net;;070-987 65 43;;;;;;;Sjögatan 4;;111 22;Stockholm;SW",
]
# A new contact of a company Norce no longer knows by that Code: Norce fails the item and
# its job log quotes the row, and (as Norce may) the e-mail address.
NEW_CONTACT = f"K-7005;Sigrid;Sjöberg;sigrid.sjoberg@example.se;;;199001011239;{COMPANY}"


def drop(erp_root: Path, name: str, rows: list[str]) -> None:
    folder = erp_root / "customers"
    (folder / name).write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    (folder / f"{name}.done").touch()


def test_a_customers_run_logs_counts_and_keys_never_the_people(
    home: Path, erp_root: Path, norce: NorceStandin, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(erp_root / "customers")
    (erp_root / "customers").mkdir()
    drop(erp_root, "kunder_20261201.csv", PRODUCT_ROWS)
    settings = settings_for(home, LocalStoreSettings(root=erp_root), norce.settings())
    caplog.set_level(logging.DEBUG)

    first = [o for feed in ("prices", "customers") for o in run_once(settings, feed)]

    assert [(o.feed, o.outcome) for o in first] == [
        ("prices", "committed"),
        ("companies", "committed"),
        ("customers", "committed"),
    ]
    assert first[-1].counts["rejected"] == 3
    assert leaked(caplog) == []

    norce.change_company("F-700", Code="F-700-OLD")
    drop(erp_root, "kunder_20261202.csv", [*PRODUCT_ROWS[:1], NEW_CONTACT])
    norce.finish_next_jobs(1, messages=["EmailAddress sigrid.sjoberg@example.se is already in use"])
    caplog.clear()

    [*_, failed] = run_once(settings, "customers")

    assert failed.outcome == "failed" and "K-7005" in failed.message
    ledger = Ledger(home / "state" / "ledger.sqlite")
    try:
        stored = [r.message or "" for r in ledger.runs("customers", 5)]
    finally:
        ledger.close()
    assert any("Norce job" in m for m in stored)
    assert leaked(caplog, failed.message, *stored) == []


def test_a_customers_file_without_its_header_row_names_no_one(tmp_path: Path) -> None:
    from etl.config.contract_files import load_contracts
    from etl.config.settings import Settings
    from etl.errors import SchemaMismatch
    from etl.to_norce.feed import parse_and_validate

    contract = load_contracts(Settings(schemas_dir=SCHEMAS))["customers"]
    headless = tmp_path / "kunder_headless.csv"  # the first record where the header should be
    headless.write_bytes(
        b"K-1;Anna;Andersson;anna.andersson@bygg.example;08-1;070-2;19800101-1234;F-1;Bygg AB;"
        b"556036-0793;SE556036079301;STD;Storgatan 1;Port 2;111 22;Stockholm;SE\r\n" * 2
    )

    with pytest.raises(SchemaMismatch) as caught:
        parse_and_validate(headless, contract, tmp_path / "work")

    text = str(caught.value)
    assert "missing column(s)" in text and "not shown for a feed about people" in text
    for personal in ("Anna", "anna.andersson", "Andersson", "19800101"):
        assert personal not in text


# Someone the call never named, as Norce's texts may quote them: only their shape gives them away.
STRANGER = ("stranger.person@example.org", "811218-9876", "+46 70 555 12 34")
STRANGER_MESSAGE = (
    f"EmailAddress {STRANGER[0]} belongs to customer {STRANGER[1]} (phone {STRANGER[2]})"
)


@pytest.mark.parametrize("feed", ["prices", "customers"])
def test_a_norce_job_message_about_someone_the_call_never_named_is_masked(
    home: Path, erp_root: Path, norce: NorceStandin, caplog: pytest.LogCaptureFixture, feed: str
) -> None:
    drop(erp_root, "kunder_20261201.csv", PRODUCT_ROWS[:1])
    settings = settings_for(home, LocalStoreSettings(root=erp_root), norce.settings())
    caplog.set_level(logging.DEBUG)
    norce.finish_next_jobs(5, messages=[STRANGER_MESSAGE])

    [*_, failed] = run_once(settings, feed)

    assert failed.outcome == "failed" and "Norce job" in failed.message
    ledger = Ledger(home / "state" / "ledger.sqlite")
    try:
        stored = [r.message or "" for r in ledger.runs(None, 20)]
    finally:
        ledger.close()
    shown = [r.getMessage() for r in caplog.records] + [caplog.text, failed.message, *stored]
    assert [value for value in STRANGER for text in shown if value in text] == []
    assert "EmailAddress *** belongs to customer *** (phone ***)" in failed.message


def test_an_order_service_refusal_quoting_the_delivery_address_is_scrubbed(
    norce: NorceStandin, caplog: pytest.LogCaptureFixture
) -> None:
    from etl.norce.client import NorceClient
    from etl.norce.order_calls import HttpOrderService, OrderCall

    note = OrderCall(
        "Order/CreateDeliveryNote",
        {
            "OrderNo": "SO-100045",
            "NoteNo": "DN-1",
            "DeliveryName": "Sigrid Sjöberg",
            "DeliveryAddress": {"Line1": "Sjögatan 4", "ZipCode": "111 22", "City": "Stockholm"},
        },
        "delivery_note DN-1",
    )
    norce.fail_next(
        status=400,
        path="CreateDeliveryNote",
        message=f"Address 'Sjögatan 4, 111 22' for Sigrid Sjöberg (070-987 65 43, {PERSON[2]}) "
        "is not deliverable",
    )
    caplog.set_level(logging.DEBUG)

    with NorceClient(norce.settings(max_attempts=1), sleep=lambda s: None) as client:
        answer = HttpOrderService(client).send(note, "delivery_notes")

    assert answer.outcome == "refused"
    assert "is not deliverable" in answer.message
    assert leaked(caplog, answer.message) == []
    for value in ("Sigrid Sjöberg", "111 22"):
        assert value not in answer.message


def test_a_name_norce_quotes_that_the_failed_call_never_carried_is_masked(
    home: Path, erp_root: Path, norce: NorceStandin, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(erp_root / "customers")
    (erp_root / "customers").mkdir()
    drop(erp_root, "kunder_20261201.csv", PRODUCT_ROWS[:1])
    settings = settings_for(home, LocalStoreSettings(root=erp_root), norce.settings())
    run_once(settings, "prices")  # the customers' price list
    assert run_once(settings, "customers")[-1].outcome == "committed"
    # The next export changes only Sigrid's phone: the call carries her Code and the phone.
    drop(
        erp_root, "kunder_20261202.csv", [PRODUCT_ROWS[0].replace("070-987 65 43", "070-111 22 33")]
    )
    norce.finish_next_jobs(1, messages=["Customer Sigrid Sjöberg is locked for changes"])
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    [*_, failed] = run_once(settings, "customers")

    assert failed.outcome == "failed", (failed, norce.calls[-1:])
    assert "is locked for changes" in failed.message
    ledger = Ledger(home / "state" / "ledger.sqlite")
    try:
        stored = [r.message or "" for r in ledger.runs("customers", 5)]
    finally:
        ledger.close()
    assert leaked(caplog, failed.message, *stored) == []

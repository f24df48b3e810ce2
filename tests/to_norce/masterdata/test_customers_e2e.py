"""Customers and companies end to end: the flat sample over SFTP to the Norce stand-in.

One file, two feeds: `companies` reads the company columns of the `customers` file and runs
first, then the contacts, which may only name companies Norce has. Prices run before both,
as the companies' agreement lists must exist.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import openpyxl

from etl.config.settings import Settings
from tests.support.masterdata import manifests, run_once, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.sftp_server import SftpServerInfo

HEADER = (
    "Kundnr;Förnamn;Efternamn;E-post;Telefon;Mobil;Personnr;Företagsnr;Företag;Orgnr;Momsnr;"
    "Prislista;Adress;Adress2;Postnr;Ort;Land"
)
BYGG = "F-500;Byggmästarna AB;556036-0793;SE556036079301;STD-SEK;Storgatan 1;;111 22;Stockholm;SE"
ANNA = f"K-1001;Anna;Andersson;anna@bygg.example;08-123;;;{BYGG}"
BJORN = f"K-1002;Björn;Berg;bjorn@bygg.example;;070-2;;{BYGG}"
EVA = "K-1005;Eva;Ek;eva.ek@example.se;;;19850101-1234;;;;;;Ekvägen 7;;211 45;Malmö;SE"


def drop_customers(erp_root: Path, name: str, rows: list[str]) -> None:
    folder = erp_root / "customers"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    (folder / f"{name}.done").touch()


def run_pass(settings: Settings) -> dict[str, list[str]]:
    """Prices, then customers (companies run inside), as `once` orders them."""
    outcomes = [o for feed in ("prices", "customers") for o in run_once(settings, feed)]
    found: dict[str, list[str]] = {}
    for o in outcomes:
        found.setdefault(o.feed, []).append(o.outcome)
    return found


def test_the_flat_sample_reaches_norce_companies_first(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    settings = settings_for(home, sftp.settings(), norce.settings())

    assert run_pass(settings) == {
        "prices": ["committed"],
        "companies": ["committed"],
        "customers": ["committed"],
    }

    methods = [c.method for c in norce.calls if c.method.startswith(("Customer/", "Product/"))]
    # One call per set of fields the rows have (an empty cell is not sent), in this order.
    assert [m for m, _ in itertools.groupby(methods)] == [
        "Product/ImportSkuPriceLists",
        "Customer/ImportCompanies",
        "Customer/ImportCustomers",
    ]
    companies = norce.state.companies
    assert {companies[c]["Name"] for c in ("F-500", "F-501", "F-502")} == {
        "Byggmästarna AB",
        "Snickeri Norr AB",
        "Fjordbygg AS",
    }
    assert "F-503" not in companies  # its organisation number has a wrong check digit
    assert sorted(c["Code"] for c in norce.state.company_contacts("F-500")) == ["K-1001", "K-1002"]
    assert norce.state.customers["K-1005"]["Type"] == 1
    assert norce.state.customers["K-1005"]["SocialSecurityNumber"] == "19850101-1234"
    for rejected in ("K-1006", "K-1007", "K-1008"):
        assert rejected not in norce.state.customers

    customers = manifests(home, "customers")[-1]
    assert (customers["counts"]["rows"], customers["counts"]["rejected"]) == (8, 3)
    assert manifests(home, "companies")[-1]["counts"]["adds"] == 3
    # The file moved to processed/ once, after the last feed reading it committed.
    processed = erp_root / "customers" / "processed"
    assert sorted(p.name for p in processed.iterdir()) == [
        "kunder_20261120.csv",
        "kunder_20261120.csv.done",
    ]
    [report] = (home / "archive" / "customers").rglob("*.rejected.xlsx")
    _, *rows = openpyxl.load_workbook(report)["Rejected cells"].iter_rows(values_only=True)
    assert [(r[1], r[4]) for r in rows] == [
        ("K-1006", "email"),
        ("K-1007", "unknown_reference"),
        ("K-1008", "country"),
    ]
    assert all(r[-1] is None for r in rows), "rows about people never show their raw line"


def test_the_next_export_sends_only_what_changed_and_deactivates_the_gone(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    shutil.rmtree(erp_root / "customers")
    settings = settings_for(home, sftp.settings(), norce.settings())
    drop_customers(erp_root, "kunder_20261120.csv", [ANNA, BJORN, EVA])
    run_pass(settings)
    before = len(norce.calls)
    renamed = BYGG.replace("Byggmästarna AB", "Byggmästarna i Stockholm AB")
    drop_customers(
        erp_root,
        "kunder_20261121.csv",
        [ANNA.replace("08-123", "08-999").replace(BYGG, renamed), BJORN.replace(BYGG, renamed)],
    )

    assert run_pass(settings) == {"companies": ["committed"], "customers": ["committed"]}

    sent = [
        (c.method, c.header, c.items)
        for c in norce.calls[before:]
        if c.method.startswith("Customer/")
    ]
    assert [
        (m, h.get("CompanyFieldsThatAreSet") or h.get("CustomerFieldsThatAreSet"), i)
        for m, h, i in sent
    ] == [
        (
            "Customer/ImportCompanies",
            [2, 4, 20],
            [{"Code": "F-500", "Name": "Byggmästarna i Stockholm AB"}],
        ),
        (
            "Customer/ImportCustomers",
            [2, 9, 18],
            [{"Code": "K-1001", "PhoneNumber": "08-999"}],
        ),
        (
            "Customer/ImportCustomers",
            [2, 11, 18],
            [{"Code": "K-1005", "IsActive": False}],
        ),
    ]
    assert norce.state.customers["K-1005"]["IsActive"] is False
    assert norce.state.customers["K-1001"]["PhoneNumber"] == "08-999"
    assert norce.state.customers["K-1001"]["FirstName"] == "Anna"  # not listed: untouched


def test_a_failed_contacts_run_retries_without_sending_the_companies_again(
    home: Path, sftp: SftpServerInfo, norce: NorceStandin, erp_root: Path
) -> None:
    shutil.rmtree(erp_root / "customers")
    settings = settings_for(home, sftp.settings(), norce.settings())
    drop_customers(erp_root, "kunder_20261120.csv", [ANNA, BJORN, EVA])
    norce.fail_next(3, status=503, path="/Customer/ImportCustomers")  # one run's tries

    first = run_pass(settings)
    assert (first["companies"], first["customers"]) == (["committed"], ["failed"])
    assert (erp_root / "customers" / "kunder_20261120.csv").exists(), "the file waits"
    sent_first = len(norce.calls)

    assert run_pass(settings)["customers"] == ["committed"]

    methods = [c.method for c in norce.calls if c.method.startswith("Customer/")]
    assert "Customer/ImportCustomers" not in {c.method for c in norce.calls[:sent_first]}
    assert {c.method for c in norce.calls[sent_first:]} == {"Customer/ImportCustomers"}
    assert [m for m, _ in itertools.groupby(methods)] == [
        "Customer/ImportCompanies",
        "Customer/ImportCustomers",
    ]
    assert sorted(c["Code"] for c in norce.state.company_contacts("F-500")) == ["K-1001", "K-1002"]

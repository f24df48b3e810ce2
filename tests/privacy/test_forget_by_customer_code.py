"""`forget --customer CODE` erases the buyer's e-mail, phone and names, not only by `--email`.

A one-VM home whose only knowledge of the buyer is her spooled order (no customer snapshot):
the order names her by customer code and e-mail, and went to the ERP in both shipped order
layouts. Forgotten by code, none of her values (the code excepted: a key) may stay in the
spooled body, the exported files' archive, or anywhere else in the home; another buyer's stay.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.support.exported_orders import exported_home, forget_in
from tests.support.paths import SCHEMAS
from tests.support.privacy_order_bodies import HEDVIG, HEDVIG_FOLDED, TORA, left, values

# The buyer of the report: known by her code, with every value a Norce order carries.
ANNA = {**HEDVIG, "CustomerCode": "C-000123", "Email": "anna@example.com",
        "FirstName": "Anna", "LastName": "Åström"}  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose two orders (Anna's, Tora's) went to the ERP in both layouts."""
    return exported_home(tmp_path_factory.mktemp("by_code"), (("8201", ANNA), ("8202", TORA)))


@pytest.fixture
def home(exported: Path, tmp_path: Path) -> Path:
    shutil.copytree(exported, tmp_path / "copy")
    return tmp_path / "copy" / "home"


def _texts(home: Path, under: str) -> dict[str, str]:
    """Every file under `home/under` as text (cp1252 reads any byte: the CSV's encoding)."""
    files = sorted(p for p in (home / under).rglob("*") if p.is_file())
    return {str(p.relative_to(home)): _text(p) for p in files}


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _hers(texts: dict[str, str]) -> dict[str, list[str]]:
    return left(texts, [*values(ANNA), *HEDVIG_FOLDED])


def test_the_premise_her_values_are_in_the_body_and_both_layouts(home: Path) -> None:
    spooled, archived = _texts(home, "state/spool/orders"), _texts(home, "archive/orders")
    assert "anna@example.com" in "".join(spooled.values())
    layouts = {name for name, hits in _hers(archived).items() if "anna@example.com" in hits}
    assert {name.split("/")[3] for name in layouts} == {"erp_csv", "peppol_order"}


def test_forget_by_code_leaves_none_of_her_values_in_the_home(home: Path) -> None:
    before = _texts(home, "archive") | _texts(home, "state/spool")

    forget_in(home, "--customer", "C-000123")

    after = _texts(home, "archive") | _texts(home, "state/spool") | _texts(home, "outbox")
    assert _hers(after) == {}
    # Tora keeps every value where she had it; her code and Anna's code stay (keys).
    assert left(after, values(TORA)) == left(before, values(TORA))
    assert "C-000123" in "".join(_texts(home, "state/spool/orders").values())


def test_forget_by_code_masks_as_much_as_forget_by_her_email(home: Path) -> None:
    by_email = home.parent.parent / "by_email"
    shutil.copytree(home.parent, by_email)

    by_code = _counts(forget_in(home, "--customer", "C-000123"), "masked")
    by_address = _counts(forget_in(by_email / "home", "--email", "anna@example.com"), "masked")

    assert by_code == by_address


def test_a_dry_run_by_code_counts_what_the_forget_masks(home: Path) -> None:
    before = _texts(home, "archive") | _texts(home, "state/spool")
    dry = forget_in(home, "--dry-run", "--customer", "C-000123")
    assert _texts(home, "archive") | _texts(home, "state/spool") == before
    done = forget_in(home, "--customer", "C-000123")

    assert _counts(dry, "would mask") == _counts(done, "masked")
    assert "archive/orders" in _counts(done, "masked")


def _counts(printed: str, verb: str) -> dict[str, str]:
    """Per place, the count line the command printed."""
    return dict(re.findall(rf"^  (\S+): {verb} (.+)$", printed, re.MULTILINE))


def test_forget_by_code_masks_the_e_mail_and_phone_only_a_party_event_knows(
    tmp_path: Path,
) -> None:
    """No order, no snapshot: Norce's event on her record gives the e-mail and the phone."""
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    events = home / "state" / "spool" / "parties"
    events.mkdir(parents=True)
    event = {"EntityId": 71, "CustomerCode": "C-000123", "EmailAddress": "anna@example.com",
             "PhoneNumber": "+46 70 123 45 67", "FirstName": "Anna"}  # fmt: skip
    (events / "customer-1.json").write_text(json.dumps(event), encoding="utf-8")
    # Read first, naming her by the e-mail only: hers once the later event gave the e-mail.
    moved = {"EntityId": 71, "EmailAddress": "anna@example.com", "Address": {"Line1": "Nygatan 9"}}
    (events / "customer-0.json").write_text(json.dumps(moved), encoding="utf-8")
    day = home / "archive" / "parties" / "exported" / "erp_customers_csv" / "2026-12-06"
    day.mkdir(parents=True)
    # Her line, and a colleague's note naming her address and phone (no code: not her record).
    lines = (
        "C-000123;Anna;anna@example.com\r\nC-000200;Tora;cc anna@example.com +46 70 123 45 67\r\n"
    )
    (day / "CUSTOMERS_1.csv").write_bytes(lines.encode("cp1252"))

    forget_in(home, "--customer", "C-000123")

    texts = _texts(home, "archive") | _texts(home, "state/spool")
    assert left(texts, ["anna@example.com", "+46 70 123 45 67", "Anna", "Nygatan 9"]) == {}
    assert (
        "C-000200;Tora;cc [erased] [erased]"
        in texts["archive/parties/exported/erp_customers_csv/2026-12-06/CUSTOMERS_1.csv"]
    )

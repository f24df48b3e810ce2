"""`forget` finds the person's values in the Norce party events too.

A customer who changed their address in the shop: Norce's event and the party file the export
wrote from Norce's record hold the new address, which no ERP snapshot and no order knows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from etl.config.contract_files import load_contracts
from etl.privacy.forget import forget
from etl.privacy.person import Request
from tests.support.clock import NOW
from tests.support.paths import SCHEMAS
from tests.support.privacy_seed import settings

EVA_NEW = ("Nygatan 9", "222 33", "Lund")  # only in Norce: the event and the party file
EVA_LINE = "K-1005;Eva;Ek;eva.ek@example.se;Nygatan 9;222 33;Lund\r\n"
ANNA_LINE = "K-1001;Anna;Andersson;anna.andersson@example.se;Storgatan 1;111 22;Stockholm\r\n"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(SCHEMAS, home / "schemas")
    events = home / "state" / "spool" / "parties"
    events.mkdir(parents=True)
    street, zip_code, city = EVA_NEW
    address = {"Line1": street, "ZipCode": zip_code, "City": city}
    event = {"EntityId": 70, "EmailAddress": "eva.ek@example.se", "InvoiceAddress": address}
    (events / "customer-0.json").write_text(json.dumps(event), encoding="utf-8")
    day = home / "archive" / "parties" / "exported" / "erp_customers_csv" / "2026-12-06"
    day.mkdir(parents=True)
    (day / "CUSTOMERS_1.csv").write_bytes((EVA_LINE + ANNA_LINE).encode("cp1252"))
    return home


def test_forget_masks_the_new_address_known_only_from_a_party_event(tmp_path: Path) -> None:
    home = _home(tmp_path)
    config = settings(home, tmp_path / "erp")

    forget(config, load_contracts(config), Request("email", "eva.ek@example.se"), NOW,
           dry_run=False)  # fmt: skip

    file = home / "archive/parties/exported/erp_customers_csv/2026-12-06/CUSTOMERS_1.csv"
    text = file.read_bytes().decode("cp1252")
    assert [v for v in EVA_NEW if v in text] == []
    assert text.endswith(ANNA_LINE)  # another person keeps every value
    event = (home / "state/spool/parties/customer-0.json").read_text(encoding="utf-8")
    assert [v for v in EVA_NEW if v in event] == []

"""One order's whole life: the order Norce pushes and an installation with the document contracts
and both order layouts, run through its own etl.toml as `run.py` would."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from etl.cli import main
from etl.config.settings import Settings, load_settings
from tests.support.documents import APPLICATION_ID, DOCUMENT_FEEDS, make_home
from tests.support.norce.app import NorceStandin
from tests.support.paths import SCHEMAS
from tests.support.sftp_server import SftpServerInfo

REF = "4711001"  # Norce's order number: ClientOrderRef in the push, a whole number in Norce
ERP_NO = "SO-200001"  # the number the ERP gives the order when it acknowledges it
RECEIVER_USER, RECEIVER_PASSWORD = "norce", "lifecycle-receiver-pw"
ORDER: dict[str, Any] = {
    "Header": {"ApplicationKey": "00000000-0000-0000-0000-000000000000"},
    "ClientOrderRef": REF,
    "SubmitDate": "2026-11-21T10:15:00",
    "CurrencyCode": "SEK",
    "OrderType": 1,
    "Source": "WEB",
    "DoHold": False,
    "CustomerOrderRef": "PO-4711",
    "SellTo": {
        "Company": {"Code": "K-5566", "Name": "Bygg & Trä AB", "VatNo": "SE556600000501"},
        "Person": {"CustomerCode": "C-000123", "FirstName": "Anna", "LastName": "Åström",
                   "Email": "anna@example.com", "CellPhone": "+46701234567"},
    },
    "BillTo": {"Person": {"Address": {"Line1": "Storgatan 1", "ZipCode": "11122",
                                      "City": "Stockholm", "Country": "SE"}}},
    "ShipTo": {"Person": {"FirstName": "Örjan", "LastName": "Ek",
                          "Address": {"Line1": "Sjövägen 3", "ZipCode": "18230",
                                      "City": "Danderyd", "Country": "SE"}}},
    "ShippingAdvice": {"DeliveryMethodCode": "POSTNORD"},
    "Payments": [{"PaymentCode": 98765, "PaymentMethodCode": "KLARNA", "PaymentRef": "psp-4711",
                  "Amount": 497.00, "CurrencyCode": "SEK"}],
    "Items": [
        {"LineNo": 1, "PartNo": "100123", "Description": "Arbetshandske L", "Quantity": 2,
         "UnitPrice": 79.20, "UnitVat": 19.80, "VatRate": 25, "Type": "ErpStandard",
         "TypeGroup": "Physical"},
        {"LineNo": 2, "PartNo": "100200", "Description": "Pannlampa 300 lm", "Quantity": 1,
         "UnitPrice": 200.00, "UnitVat": 50.00, "VatRate": 25, "Type": "ErpStandard",
         "TypeGroup": "Physical"},
        {"LineNo": 3, "PartNo": "FREIGHT", "Description": "Frakt", "Quantity": 1,
         "UnitPrice": 39.20, "UnitVat": 9.80, "VatRate": 25, "Type": "Freight",
         "TypeGroup": "Fee"},
    ],
}  # fmt: skip


class Installation:
    """A home with the four document contracts and both order layouts, its etl.toml."""

    def __init__(self, tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin) -> None:
        self.home = make_home(tmp_path, *DOCUMENT_FEEDS)
        shutil.copytree(SCHEMAS / "orders", self.home / "schemas" / "orders")
        self.server = sftp.root
        for feed in DOCUMENT_FEEDS:  # the ERP's drop folders exist before it drops anything
            (self.server / feed).mkdir(exist_ok=True)
        self.config = self.home / "etl.toml"
        self.config.write_text(
            'home = "."\nschemas_dir = "schemas"\n'
            f'[stores.erp]\nkind = "sftp"\nhost = "{sftp.host}"\nport = {sftp.port}\n'
            f'username = "{sftp.username}"\nknown_hosts = "{sftp.known_hosts_path}"\n'
            'password_env = "LIFECYCLE_SFTP_PASSWORD"\ntimeout_seconds = 5\n'
            f'[norce]\nmode = "http"\nbase_url = "{norce.base_url}"\n'
            f'client_id = "{norce.client_id}"\nclient_secret_env = "LIFECYCLE_NORCE_SECRET"\n'
            f"application_id = {APPLICATION_ID}\naccount_id = 1001\n"
            "request_timeout_seconds = 5\nmax_attempts = 3\nbackoff_seconds = 0\n"
            f'[receiver]\nusername = "{RECEIVER_USER}"\n'
            'password_env = "LIFECYCLE_RECEIVER_PASSWORD"\n',
            encoding="utf-8",
        )
        self.env = {  # secrets come from the environment, as in production
            "LIFECYCLE_RECEIVER_PASSWORD": RECEIVER_PASSWORD,
            "LIFECYCLE_SFTP_PASSWORD": sftp.password,
            "LIFECYCLE_NORCE_SECRET": norce.client_secret,
        }
        self.settings: Settings = load_settings(self.config, self.env)

    def once(self, capsys: pytest.CaptureFixture[str]) -> list[str]:
        """`run.py --config etl.toml once`; the lines it printed (exit code must be 0)."""
        capsys.readouterr()
        assert main(["--config", str(self.config), "once"]) == 0, capsys.readouterr().out
        return capsys.readouterr().out.splitlines()

    def drop(self, name: str, data: bytes, hours_ago: float = 0) -> None:
        """The ERP writes a file in its folder on the SFTP server (stamped `hours_ago`)."""
        path = self.server / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if hours_ago:
            stamp = time.time() - hours_ago * 3600
            os.utime(path, (stamp, stamp))

    def remote(self, folder: str) -> dict[str, bytes]:
        """Files in a folder of the SFTP server, by name."""
        root = self.server / folder
        return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}

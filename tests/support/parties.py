"""A party world: the real receiver with events on, the Norce stand-in with Query, the real SFTP
server and the shipped party layouts; the events and customers the party tests send."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from etl.config.settings import EventSettings, Settings
from etl.runtime import Runtime
from etl.to_erp.files.export import ExportSummary
from etl.to_erp.files.layouts import Layout, load_layouts
from etl.to_erp.parties.book import PartyBook
from etl.to_erp.parties.jobs import export_parties_once
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin
from tests.support.paths import SCHEMAS
from tests.support.receiver import Receiver, receiver_settings
from tests.support.sftp_server import SftpServerInfo

TOKEN = "norce-event-test-token"
APPLICATION = 1042
CUSTOMERS = "customer_changes/in"
COMPANIES = "company_changes/in"


def event_body(norce_id: int, key: str = "CustomerId", **extra: Any) -> bytes:
    """A customer or company event as we expect Norce to send it [I]: ids and little else."""
    return json.dumps(
        {"ClientId": 7, "ApplicationId": APPLICATION, key: norce_id, **extra}
    ).encode()


def read_csv(data: bytes) -> list[list[str]]:
    """A party file's lines, split as the ERP reads them (cp1252, semicolons, CRLF)."""
    assert data.endswith(b"\r\n")
    return list(csv.reader(io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))


@dataclass
class PartyWorld:
    """Everything one party test touches, all of it real."""

    settings: Settings
    receiver: Receiver
    norce: NorceStandin
    query: QueryStandin
    server: SftpServerInfo

    def post(
        self, event: str, body: bytes, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Norce Event posting `body` to `<events>/<event>` with the token header."""
        sent = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        return httpx.post(
            self.receiver.url(f"/events/{event}"),
            content=body,
            headers=sent if headers is None else headers,
            timeout=10,
        )

    def changed(self, norce_id: int, key: str = "CustomerId", **extra: Any) -> None:
        """A customer change event, answered 200."""
        event = (
            "CustomerChangedNotification" if key != "CompanyId" else "CompanyChangedNotification"
        )
        response = self.post(event, event_body(norce_id, key, **extra))
        assert response.status_code == 200, response.text

    @property
    def layouts(self) -> dict[str, Layout]:
        """The shipped party layouts, by name."""
        return load_layouts(self.settings, "parties")

    def run(self, layout: str = "erp_customers_csv") -> ExportSummary:
        """One scheduled run of the party job for `layout`."""
        rt = Runtime.open(self.settings, sleep=lambda s: None)
        try:
            return export_parties_once(rt, self.layouts[layout])
        finally:
            rt.close()

    def remote(self, folder: str = CUSTOMERS) -> dict[str, bytes]:
        """The files in a folder on the ERP's server, by name."""
        root = self.server.root / folder
        return {p.name: p.read_bytes() for p in sorted(root.iterdir())} if root.is_dir() else {}

    def files(self, folder: str = CUSTOMERS) -> dict[str, list[list[str]]]:
        """The data files on the ERP's server, parsed (markers left out)."""
        return {n: read_csv(d) for n, d in self.remote(folder).items() if n.endswith(".csv")}

    @contextmanager
    def book(self) -> Iterator[PartyBook]:
        """The party book in the ledger, closed after the block."""
        book = PartyBook(self.settings.folder("state") / "ledger.sqlite")
        try:
            yield book
        finally:
            book.close()


def party_settings(tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin) -> Settings:
    """Receiver with events on, the SFTP server as `erp`, Norce (and its Query) as the stand-in."""
    base = receiver_settings(tmp_path)
    home = base.home
    (home / "schemas").mkdir(parents=True, exist_ok=True)
    shutil.copytree(SCHEMAS / "parties", home / "schemas" / "parties")
    receiver = base.receiver.model_copy(update={"events": EventSettings(token=SecretStr(TOKEN))})
    return base.model_copy(
        update={
            "receiver": receiver,
            "stores": {"erp": sftp.settings()},
            "norce": norce.settings(application_id=APPLICATION),
        }
    )


C_HEADER = ["C", "Code", "NorceId", "FirstName", "LastName", "Email", "Phone", "CellPhone",
            "CareOf", "Address1", "Address2", "Zip", "City", "Country", "Active",
            "ChangedInNorce", "Forgotten"]  # fmt: skip


def customer(world: PartyWorld, **fields: object) -> int:
    """A customer as the ERP once sent it (with its Code), in Norce."""
    values: dict[str, object] = {
        "first_name": "Anna", "last_name": "Andersson", "email": "anna@example.com",
        "code": "C-000123",
        "InvoiceAddress": {"AddressLine1": "Storgatan 1", "ZipCode": "11122",
                           "City": "Stockholm", "CountryCode": "SE"},
        "IsActive": True,
    }  # fmt: skip
    values.update(fields)
    return world.norce.add_customer(**values)


def c_line(lines: list[list[str]], norce_id: int) -> dict[str, str]:
    """The C line of one customer, by column name."""
    (line,) = [line for line in lines if line[0] == "C" and line[2] == str(norce_id)]
    return dict(zip(C_HEADER, line, strict=True))

"""Norce Events at the receiver: the real ReceiverApp under uvicorn on 127.0.0.1, events on.

Each test posts as Norce Event would (JSON, the static token header) and then looks at what
landed: the party spool, the party book in the ledger, archive/parties/rejected/.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from etl.config.settings import EventSettings
from etl.state.spool import spool_name
from etl.to_erp.parties.book import PartyBook
from tests.support.norce.app import NorceStandin
from tests.support.orders import encode, order
from tests.support.parties import TOKEN, PartyWorld, event_body, party_settings
from tests.support.receiver import running
from tests.support.sftp_server import SftpServerInfo

CUSTOMER = "CustomerChangedNotification"


def spooled(world: PartyWorld) -> list[Path]:
    folder = world.settings.folder("state") / "spool" / "parties"
    return (
        sorted(p for p in folder.glob("*") if not p.name.startswith(".")) if folder.is_dir() else []
    )


def rejected(world: PartyWorld) -> list[Path]:
    folder = world.settings.folder("archive") / "parties" / "rejected"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def test_an_event_with_the_token_is_answered_200_after_it_is_spooled_and_booked(
    world: PartyWorld,
) -> None:
    body = event_body(10001)
    response = world.post(CUSTOMER, body)
    assert response.status_code == 200
    assert response.json() == {"StatusCode": "OK", "Description": "queued"}
    sha = hashlib.sha256(body).hexdigest()
    (kept,) = spooled(world)
    assert kept.name == spool_name(f"{CUSTOMER}-10001", sha, "json")
    assert kept.read_bytes() == body
    with world.book() as book:
        (event,) = book.events()
    assert (event.kind, event.norce_id, event.event, event.source) == (
        "customer", 10001, CUSTOMER, "push",
    )  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},  # no scheme
        {"X-Other": TOKEN},
        {},
    ],
)
def test_a_wrong_or_missing_token_is_401_and_nothing_is_kept(
    world: PartyWorld, headers: dict[str, str]
) -> None:
    response = world.post(CUSTOMER, event_body(10001), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert spooled(world) == [] and rejected(world) == []
    with world.book() as book:
        assert book.events() == []


def test_the_order_credentials_do_not_open_the_event_path(world: PartyWorld) -> None:
    response = httpx.post(
        world.receiver.url(f"/events/{CUSTOMER}"),
        content=event_body(10001),
        auth=("norce", "receiver-test-password"),
        timeout=10,
    )
    assert response.status_code == 401


def test_the_bearer_scheme_is_matched_in_any_case(world: PartyWorld) -> None:
    response = world.post(CUSTOMER, event_body(10001), headers={"authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_a_body_without_an_id_is_400_logged_without_its_values_and_kept(
    world: PartyWorld, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"ClientId": 7, "FirstName": "Anna", "EmailAddress": "anna@example.com"}'
    with caplog.at_level(logging.INFO):
        response = world.post(CUSTOMER, body)
    assert response.status_code == 400
    assert "no customer id" in response.json()["Description"]
    logged = caplog.text
    assert "no customer id" in logged and "EmailAddress" in logged  # the keys, for a person
    assert "Anna" not in logged and "anna@example.com" not in logged
    assert spooled(world) == []
    kept, reason = rejected(world)
    assert kept.read_bytes() == body and "CustomerId, EntityId, Id" in reason.read_text()
    # Norce retries it: still one copy.
    assert world.post(CUSTOMER, body).status_code == 400
    assert len(rejected(world)) == 2


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'["CustomerId", 1]', b'{"CustomerId": "abc"}', b'{"CustomerId": -4}',
     b'{"CustomerId": true}'],
)  # fmt: skip
def test_bodies_that_name_no_customer_are_refused(world: PartyWorld, body: bytes) -> None:
    assert world.post(CUSTOMER, body).status_code == 400
    assert spooled(world) == []


@pytest.mark.parametrize(
    ("key", "value"), [("customerId", 10002), ("EntityId", "10002"), ("ID", 10002)]
)
def test_the_id_is_taken_from_the_likely_names_in_any_casing(
    world: PartyWorld, key: str, value: object
) -> None:
    body = json.dumps({"ApplicationId": 1042, key: value}).encode()
    assert world.post(CUSTOMER, body).status_code == 200
    with world.book() as book:
        assert [e.norce_id for e in book.events()] == [10002]


def test_a_company_id_in_a_customer_event_is_not_the_customer(world: PartyWorld) -> None:
    body = b'{"CompanyId": 20001, "CustomerId": 10003}'
    assert world.post(CUSTOMER, body).status_code == 200
    assert world.post("CompanyChangedNotification", body).status_code == 200
    with world.book() as book:
        assert sorted((e.kind, e.norce_id) for e in book.events()) == [
            ("company", 20001), ("customer", 10003),
        ]  # fmt: skip


def test_a_retried_identical_event_is_booked_once(world: PartyWorld) -> None:
    body = event_body(10001)
    assert world.post(CUSTOMER, body).json()["Description"] == "queued"
    again = world.post(CUSTOMER, body)
    assert again.status_code == 200 and again.json()["Description"] == "already received"
    assert len(spooled(world)) == 1
    with world.book() as book:
        assert len(book.events()) == 1


def test_unknown_event_types_and_other_verbs_are_refused(world: PartyWorld) -> None:
    assert world.post("SkuChangedNotification", event_body(1)).status_code == 404
    response = httpx.get(
        world.receiver.url(f"/events/{CUSTOMER}"),
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 405


def test_orders_still_go_to_the_order_path(world: PartyWorld) -> None:
    answer = world.receiver.post(encode(order("5550100")))
    assert answer.status_code == 200 and answer.json()["StatusCode"] == "OK"
    with world.receiver.book() as book:
        assert book.order("5550100") is not None
    assert spooled(world) == []


def test_without_a_token_the_event_paths_are_not_served(
    tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin
) -> None:
    settings = party_settings(tmp_path, sftp, norce)
    off = settings.receiver.model_copy(update={"events": EventSettings()})
    with running(settings.model_copy(update={"receiver": off})) as receiver:
        response = httpx.post(
            receiver.url(f"/events/{CUSTOMER}"),
            content=event_body(1),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
    assert response.status_code == 404


def test_a_header_of_its_own_carries_the_token_itself(
    tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin
) -> None:
    settings = party_settings(tmp_path, sftp, norce)
    events = EventSettings(path="/norce/events", header="X-Event-Token", token=SecretStr(TOKEN))
    receiver_config = settings.receiver.model_copy(update={"events": events})
    with running(settings.model_copy(update={"receiver": receiver_config})) as receiver:
        url = receiver.url(f"/norce/events/{CUSTOMER}")
        ok = httpx.post(url, content=event_body(1), headers={"X-Event-Token": TOKEN}, timeout=10)
        bearer = httpx.post(
            url, content=event_body(1), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
    assert (ok.status_code, bearer.status_code) == (200, 401)
    assert "www-authenticate" not in bearer.headers


def test_a_spooled_event_the_book_never_heard_of_is_booked_at_startup(
    tmp_path: Path, sftp: SftpServerInfo, norce: NorceStandin
) -> None:
    settings = party_settings(tmp_path, sftp, norce)
    body = event_body(10009)
    folder = settings.folder("state") / "spool" / "parties"
    folder.mkdir(parents=True)
    # As if the process died after the spool's fsync and before the book's commit.
    name = spool_name(f"{CUSTOMER}-10009", hashlib.sha256(body).hexdigest(), "json")
    (folder / name).write_bytes(body)
    with running(settings) as receiver:
        response = httpx.post(
            receiver.url(f"/events/{CUSTOMER}"),
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert response.json()["Description"] == "already received"  # Norce's retry
    book = PartyBook(settings.folder("state") / "ledger.sqlite")
    try:
        (event,) = book.events()
    finally:
        book.close()
    assert (event.norce_id, event.source) == (10009, "recovered")

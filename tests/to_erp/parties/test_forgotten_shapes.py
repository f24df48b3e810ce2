"""The detector of a customer Norce forgot, shape by shape (etl.to_erp.parties.forgotten).

Pure function over a Query-shaped record: no world needed. Each shape docs/layouts.md names is
here, and each look-alike of a real person that must stay a person.
"""

from __future__ import annotations

from typing import Any

import pytest

from etl.to_erp.files.layout_spec import ForgottenSpec
from etl.to_erp.parties.forgotten import forgotten_by, marker

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
HEX = "0f8fad5bd9cb469fa16570867728950e"
HEX2 = "7c9e6679742540de944be07fc1f90ae7"
HOME = {"AddressLine1": "Storgatan 1", "ZipCode": "11122", "City": "Stockholm"}


def customer(first: str | None, last: str | None, email: str | None, **more: Any) -> str | None:
    record = {"Id": 7, "FirstName": first, "LastName": last, "EmailAddress": email, **more}
    return forgotten_by("customer", record, ForgottenSpec())


@pytest.mark.parametrize(
    ("first", "last", "email"),
    [
        (HEX, HEX2, f"{GUID}@{HEX}.invalid"),  # the stand-in's scramble: a token per field
        ("xxx", "xxx", f"{HEX}@example.se"),
        ("", "", f"{GUID}@anon.norce"),  # names emptied, a GUID e-mail
        ("", None, f"{HEX}@example.invalid"),
        (f"anon-{GUID}", f"user_{HEX}", f"{HEX}@x.invalid"),  # prefixed tokens
        ("Anonymous", "User", f"anon-{GUID}@example.se"),  # the Anonymous/User pair
        ("Anonymized", "", "deleted@example.se"),
    ],
)
def test_a_scrambled_customer_with_nothing_left_that_reaches_a_person_is_forgotten(
    first: str, last: str | None, email: str
) -> None:
    address = {"AddressLine1": HEX, "ZipCode": None, "City": ""}
    assert customer(first, last, email, PhoneNumber=None, InvoiceAddress=address) == "scrambled"


@pytest.mark.parametrize(
    ("first", "last", "email"),
    [
        ("--", "--", ""),  # the names are one sign, however many
        ("**", "**", ""),
        ("XXX", "XXX", None),
        ("Anonymous", "Anonymous", ""),
        ("Xx", "", "xx@ex.se"),  # one value, counted once: the e-mail is the name again
        ("Xu", "Li", "xu.li@example.com"),
    ],
)
def test_one_sign_alone_is_not_enough(first: str, last: str, email: str | None) -> None:
    assert customer(first, last, email) is None


@pytest.mark.parametrize(
    "left",
    [
        {"PhoneNumber": "+46701234567"},
        {"CellPhoneNumber": "0701234567"},
        {"SocialSecurityNumber": "19800101-1234"},
        {"InvoiceAddress": HOME},
        {"Addresses": [{"TypeId": 2, **HOME}]},
        {"DeliveryAddresses": [HOME]},
    ],
)
def test_a_customer_a_person_can_still_be_reached_at_is_not_forgotten(left: dict[str, Any]) -> None:
    assert customer("xx", "xx", f"{HEX}@example.se", **left) is None
    assert customer("", "", f"{GUID}@anon.norce", **left) is None


def test_an_email_domain_the_layout_names_decides_alone() -> None:
    spec = ForgottenSpec(email_domains=("anon.example",))
    record = {"FirstName": "Anna", "EmailAddress": "a@ANON.example", "PhoneNumber": "+4670"}
    assert forgotten_by("customer", record, spec) == "e-mail domain"


def test_a_company_is_forgotten_by_the_flag_only() -> None:
    scrambled = {"Id": 3, "Name": HEX, "EmailAddress": f"{HEX}@{HEX}.invalid", "FirstName": HEX,
                 "LastName": HEX}  # fmt: skip
    assert forgotten_by("company", scrambled, ForgottenSpec()) is None
    assert forgotten_by("company", {**scrambled, "IsForgotten": True}, ForgottenSpec()) == "flag"
    assert forgotten_by("customer", {"FirstName": "Anna", "IsForgotten": True},
                        ForgottenSpec()) == "flag"  # fmt: skip


def test_the_marker_keeps_who_and_when_not_what() -> None:
    record = {"Id": 7, "CustomerCode": "C-1", "CustomerCodePrefix": None, "FirstName": HEX,
              "Updated": "2026-12-06T10:00:00Z", "EmailAddress": "x@y.invalid"}  # fmt: skip
    assert marker("customer", record) == {
        "Id": 7, "CustomerCode": "C-1", "CustomerCodePrefix": None,
        "Updated": "2026-12-06T10:00:00Z", "IsForgotten": True, "Addresses": [], "Companies": [],
    }  # fmt: skip

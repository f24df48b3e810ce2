"""Two buyers whose orders carry everything a Norce order says of a person, and the search.

For the tests of `forget` on exported order files (on the disk and in the bucket): Hedvig
is forgotten, Tora stays; `left` finds which of a person's values a file still holds.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tests.support.lifecycle import ORDER

# The buyer to forget, with everything a Norce order says of her.
HEDVIG = {
    "CustomerCode": "C-7001", "FirstName": "Hedvig", "LastName": "Lindqvist",
    "Email": "hedvig.lindqvist@example.se", "CellPhone": "+46 70 555 12 34",
    "Line1": "Kvarnbacken 4", "Line2": "Lgh 1203", "ZipCode": "216 11", "City": "Limhamn",
    "CareOf": "Łukasz Żak", "ShippingPhoneNumber": "040-55 12 34",
    "SSN": "19880412-2388", "WorkPhone": "040-66 77 88",
}  # fmt: skip
# Her c/o as the Windows-1252 layout writes it (`unencodable = "transliterate"`).
HEDVIG_FOLDED = ("Lukasz", "Zak")
# Another buyer in the same export: every value of hers stays.
TORA = {
    "CustomerCode": "C-7002", "FirstName": "Tora", "LastName": "Sandell",
    "Email": "tora.sandell@example.se", "CellPhone": "+46 73 444 98 76",
    "Line1": "Ängsvägen 12", "Line2": "Port B", "ZipCode": "753 20", "City": "Uppsala",
    "CareOf": "Siv Moberg", "ShippingPhoneNumber": "018-44 98 76",
    "SSN": "19900101-1239", "WorkPhone": "018-33 22 11",
}  # fmt: skip


def body(ref: str, who: dict[str, str]) -> bytes:
    """A consumer order (no company): the buyer in SellTo, BillTo and ShipTo."""
    order: dict[str, Any] = copy.deepcopy(ORDER)
    order["ClientOrderRef"] = ref
    address = {k: who[k] for k in ("Line1", "Line2", "ZipCode", "City", "CareOf")}
    name = {"FirstName": who["FirstName"], "LastName": who["LastName"]}
    sell_to = ("CustomerCode", "Email", "CellPhone", "SSN", "WorkPhone")
    order["SellTo"] = {"Person": {**name, **{k: who[k] for k in sell_to}}}
    order["BillTo"] = {"Person": {**name, "Address": {**address, "Country": "SE"}}}
    ship = {**address, "Country": "SE", "ShippingPhoneNumber": who["ShippingPhoneNumber"]}
    order["ShipTo"] = {"Person": {**name, "Email": who["Email"], "Address": ship}}
    return json.dumps(order, ensure_ascii=False).encode("utf-8")


def values(who: dict[str, str]) -> list[str]:
    """Every value of the person an order file may carry, the full name as rendered too.

    The customer code stays, as everywhere `forget` works: it is the key the ERP and Norce
    know the person by (their records there are erased by them), no value of the person.
    """
    values = [v for k, v in who.items() if k != "CustomerCode"]
    return [*values, f"{who['FirstName']} {who['LastName']}"]


def left(texts: dict[str, str], values: list[str]) -> dict[str, list[str]]:
    """Per file, the values still in it as whole words (any case)."""
    found = {}
    for name, text in texts.items():
        hits = [
            v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.IGNORECASE)
        ]
        if hits:
            found[name] = hits
    return found

"""The people in the proof's inputs, the files and bodies that carry them, and the search.

Every value a personal field holds in any input is listed in `PERSONAL`; `leaks` looks for
each in a text in every form a log could carry it: as written, in any case, and URL-encoded
(an e-mail as `%40`, a name's `ö` as `%C3%B6`, spaces as `+` or `%20`).
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote, quote_plus

from tests.support.lifecycle import ORDER

REF = "4711001"  # the pushed order's ClientOrderRef
ERP_NO = "SO-200001"  # the number the ERP's acknowledgement gives it

# A contact in the ERP's customers export, and one the export gets wrong (rejected row).
TORGUNN = {
    "first": "Torgunn", "last": "Vinterlund", "email": "Torgunn.Vinterlund@Fjallmail.example",
    "phone": "08-712 34 56", "mobile": "070-312 45 67", "ssn": "19850315-1006",
    "street": "Lindvägen 17",
}  # fmt: skip
GUNNVOR = {
    "first": "Gunnvor", "last": "Palmkvist", "email": "Gunnvor.Palmkvist(at)Fjallmail.example",
    "ssn": "19620228-1009", "street": "Tallstigen 2",
}  # fmt: skip
# The buyer of the pushed order (also the write-back's e-mail), and who it ships to.
ESKIL = {
    "first": "Eskil", "last": "Brännström", "email": "Eskil.Brannstrom@Postlada.example",
    "mobile": "+46 73 555 01 23", "ssn": "19790612-1004", "street": "Kvarngatan 5",
}  # fmt: skip
YLVA = {
    "first": "Ylva", "last": "Hedenmark", "street": "Strandpromenaden 9",
    "phone": "0708-44 55 66",
}  # fmt: skip
# A customer changed in Norce: a party event, exported to the ERP from Query.
MAJ_BRITT = {
    "first": "Maj-Britt", "last": "Oxelström", "email": "Maj-Britt.Oxelstrom@Example.org",
    "phone": "+46 8 555 123 45", "mobile": "+46705550199", "street": "Björkallén 3",
}  # fmt: skip
# A buyer whose e-mail is on two Norce records (the write-back refuses) and whose order is
# in a currency the ERP does not take (held).
SOLVE = {
    "first": "Sölve", "last": "Ahlqvist", "email": "Solve.Ahlqvist@Example.net",
    "mobile": "+358 40 123 4567", "street": "Hamnvägen 12",
}  # fmt: skip
HELD_REF, HELD_ERP_NO = "4711002", "SO-200002"
# Torgunn's new mobile number, in the second customers file.
NEW_MOBILE = "070-312 45 99"

PEOPLE = (TORGUNN, GUNNVOR, ESKIL, YLVA, MAJ_BRITT, SOLVE)
PERSONAL = (
    *(v for person in PEOPLE for v in person.values()),
    TORGUNN["ssn"].replace("-", ""),  # a personnummer as the ERP may also write it
    ESKIL["ssn"].replace("-", ""),
    f"{ESKIL['first']} {ESKIL['last']}",
    f"{YLVA['first']} {YLVA['last']}",
    NEW_MOBILE,
)


def forms(value: str) -> set[str]:
    """`value` as a log line could carry it, lowercased: written, and URL-encoded both ways."""
    return {form.lower() for form in (value, quote(value, safe=""), quote_plus(value, safe=""))}


def leaks(text: str) -> list[str]:
    """The personal values `text` carries, in any of their forms."""
    lowered = text.lower()
    return sorted({value for value in PERSONAL for form in forms(value) if form in lowered})


# ---------------------------------------------------------------- the inputs


CUSTOMERS_HEADER = (
    "Kundnr;Förnamn;Efternamn;E-post;Telefon;Mobil;Personnr;Företagsnr;Företag;Orgnr;Momsnr;"
    "Prislista;Adress;Adress2;Postnr;Ort;Land"
)
COMPANY = "F-910;Ekbacken Snickeri AB;556036-0793;;"


def customers_file(mobile: str = TORGUNN["mobile"]) -> bytes:
    """The ERP's customers export: Torgunn (valid) and Gunnvor (her e-mail lacks an @)."""
    t, g = TORGUNN, GUNNVOR
    rows = [
        f"K-9101;{t['first']};{t['last']};{t['email']};{t['phone']};{mobile};{t['ssn']};"
        f"{COMPANY};{t['street']};;412 63;Göteborg;SE",
        f"K-9102;{g['first']};{g['last']};{g['email']};;;{g['ssn']};;;;;;{g['street']};;"
        "412 63;Göteborg;SE",
    ]
    return ("\r\n".join([CUSTOMERS_HEADER, *rows]) + "\r\n").encode("cp1252")


def order_body() -> bytes:
    """The order Norce pushes: Eskil buys for a company the ERP does not know; ships to Ylva."""
    order: dict[str, Any] = copy.deepcopy(ORDER)
    e, y = ESKIL, YLVA
    order["SellTo"] = {
        "Company": {"Name": "Norrskog Bygg AB", "VatNo": "SE556677889901"},
        "Person": {"FirstName": e["first"], "LastName": e["last"], "Email": e["email"],
                   "CellPhone": e["mobile"], "SSN": e["ssn"]},
    }  # fmt: skip
    order["BillTo"]["Person"]["Address"]["Line1"] = e["street"]
    ship = order["ShipTo"]["Person"]
    ship.update(FirstName=y["first"], LastName=y["last"])
    ship["Address"].update(Line1=y["street"], ShippingPhoneNumber=y["phone"])
    return json.dumps(order).encode()


def held_order_body() -> bytes:
    """Sölve's order, in pounds: the ERP takes none, so the export holds it."""
    order: dict[str, Any] = json.loads(order_body())
    s = SOLVE
    order.update(ClientOrderRef=HELD_REF, CurrencyCode="GBP")
    order["SellTo"] = {"Person": {"FirstName": s["first"], "LastName": s["last"],
                                  "Email": s["email"], "CellPhone": s["mobile"]}}  # fmt: skip
    order["BillTo"]["Person"]["Address"]["Line1"] = s["street"]
    order["ShipTo"]["Person"].update(FirstName=s["first"], LastName=s["last"])
    order["ShipTo"]["Person"]["Address"]["Line1"] = s["street"]
    return json.dumps(order).encode()


def status_file() -> bytes:
    """The ERP acknowledges the order under its own number."""
    return f"Ordernr;Webbordernr;Status;Statustid;Kommentar\r\n{ERP_NO};{REF};10;2026-11-22 09:12;\r\n".encode(
        "cp1252"
    )


def buyer_numbers_file() -> bytes:
    """The ERP's numbers for the new buyer, found in Norce by org no and e-mail; and for
    Sölve, whose e-mail is on two Norce records, so our own check refuses to write."""
    return (
        "Webbordernr;Ordernr;Kundnr;Orgnr;Kontaktnr;E-post\r\n"
        f"{REF};{ERP_NO};50123;5566778899;50123-1;{ESKIL['email']}\r\n"
        f"{HELD_REF};{HELD_ERP_NO};;;50200;{SOLVE['email']}\r\n"
    ).encode("cp1252")


def delivery_note_file(note: str, line: int, part: str) -> bytes:
    """A delivery note to Ylva, with her name and street."""
    y = YLVA
    return (
        "NoteNo,OrderNo,ShipDate,Carrier,ShipToName,ShipToStreet,ShipToZip,ShipToCity,"
        "ShipToCountry,LineNo,ItemNo,ItemText,Qty,ParcelNo\n"
        f"{note},{ERP_NO},2026-11-24,POSTNORD,{y['first']} {y['last']},{y['street']},18230,"
        f"Danderyd,SE,{line},{part},Vara,1,0037071234567890001{line}\n"
    ).encode()


INVOICE = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
         xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2">
  <ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent>
    <erp:InvoiceInfo xmlns:erp="urn:example:erp:invoice-info">
      <erp:LastInvoiceForOrder>0</erp:LastInvoiceForOrder>
    </erp:InvoiceInfo>
  </ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>
  <cbc:ID>INV-600001</cbc:ID>
  <cbc:IssueDate>2026-11-24</cbc:IssueDate>
  <cbc:DueDate>2026-12-31</cbc:DueDate>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>{ref}</cbc:ID><cbc:SalesOrderID>{erp}</cbc:SalesOrderID></cac:OrderReference>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>{name}</cbc:Name></cac:PartyName>
    <cac:PostalAddress><cbc:StreetName>{street}</cbc:StreetName></cac:PostalAddress>
    <cac:Contact><cbc:Telephone>{phone}</cbc:Telephone><cbc:ElectronicMail>{email}</cbc:ElectronicMail></cac:Contact>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:Delivery><cbc:ActualDeliveryDate>2026-11-24</cbc:ActualDeliveryDate></cac:Delivery>
  <cac:LegalMonetaryTotal>
    <cbc:PayableRoundingAmount currencyID="SEK">0.00</cbc:PayableRoundingAmount>
    <cbc:PayableAmount currencyID="SEK">198.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">2</cbc:InvoicedQuantity>
    <cac:Item><cbc:Name>Arbetshandske L</cbc:Name>
      <cac:SellersItemIdentification><cbc:ID>100123</cbc:ID></cac:SellersItemIdentification>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">79.20</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>
"""


def invoice_file() -> bytes:
    """A UBL invoice for the gloves, billed to Eskil at his street."""
    e = ESKIL
    return INVOICE.format(
        ref=REF, erp=ERP_NO, name=f"{e['first']} {e['last']}", street=e["street"],
        phone=e["mobile"], email=e["email"],
    ).encode("utf-8")  # fmt: skip

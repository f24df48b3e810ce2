"""The ERP's numbers written back onto Norce companies and customers born on a web order.

One document (etl.entities.buyer_number) carries, per party, the new `Code` and the key
that finds the record in Query: `OrganizationNo` for a company, `EmailAddress` for a person
(from the ERP's answer, or else the order as it was received). Norce matches an import on
Id, then Code, then e-mail / org no only when Id and Code are both omitted [C docs, Connect
customerservice schemas customer and company; reference corrections 3]: a new Code sent with
the e-mail matches nothing and takes the insert path. So the record's Norce `Id`, read from
Query, goes with the new Code. Query names the number `CustomerCode` / `CompanyCode` [C
reference corrections 2]. Before anything is posted, Query is asked, per party:

- who holds the Code: the record the key finds -> already written, nothing is sent; another
  record -> refused (`code_taken`), named by its Norce Id only;
- who the key finds: nobody, several records, or a record that already has another Code ->
  refused (`buyer_unmatched`): Norce would insert a new record or re-number an old one.

Such a refusal is ours, not Norce's: the document stays open and is checked again on every
run, so it is written once someone frees the number or merges the records in Norce Admin.
One cause never goes away: a row without an e-mail for an order this integration never
received (`buyer_not_received`); that document is closed, and the row must come again with
the e-mail. The checks run before the document is booked as `sending` (`check`, called by
etl.to_norce.documents.sender): a refusal, or Query being down, leaves nothing in doubt.

Then `ImportCompanies` and `ImportCustomers` go with the minimal fields (`Id` and `Code`,
plus `ApplicationKey` for application-unique customers) and their jobs are awaited; an item
Norce does not import refuses the document with Norce's message. Company first, as in the
B2B order of work. Writing a Code twice is harmless (the second time matches by Code and
changes nothing), so a document in doubt is simply sent again.

In file mode there is no Query, so no Id and none of these checks: nothing is written and
the document waits (a call with the key in place of the Id would insert a second record).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from etl.entities.calls import NorceCall
from etl.entities.party_checks import normalized_org_number, org_number_ok
from etl.errors import NorceRejected
from etl.norce.base import Delivery, OrderAnswer, OrderCall, OrderService
from etl.norce.order_calls import file_stem
from etl.norce.query import CODE_NAMES, COMPANIES, CUSTOMERS

log = logging.getLogger(__name__)
_DOCUMENT_REFUSALS = (400, 409, 422)
# The codes of our own check's refusals. Norce was not asked: the document is checked again
# on every run and written once the cause is gone (etl.to_norce.documents.sender).
PRECHECK_CODES = frozenset({"code_taken", "buyer_unmatched"})
# Our own check's refusals whose cause cannot go away: the document is closed, not retried.
PERMANENT_CODES = frozenset({"buyer_not_received"})


class PartyLookup(Protocol):
    """Norce Query's customers and companies (etl.norce.query.QueryClient)."""

    def find_parties(self, entity_set: str, name: str, value: str | int) -> list[dict[str, Any]]:
        """The records of `entity_set` whose `name` equals `value`."""
        ...


@dataclass(frozen=True)
class _Party:
    """How one kind of party is written back."""

    noun: str
    entity_set: str
    method: str
    fields_header: str
    key: str  # the match key besides Code: OrganizationNo or EmailAddress
    key_words: str  # the key in a message
    code: int  # the number of Code in the FieldsThatAreSet array
    application_key: int | None  # the number of ApplicationKey, when the kind has one

    @property
    def query_code(self) -> str:
        """The ERP number's name in Query (CustomerCode, CompanyCode)."""
        return CODE_NAMES[self.entity_set]


COMPANY = _Party("company", COMPANIES, "Customer/ImportCompanies", "CompanyFieldsThatAreSet",
                 "OrganizationNo", "organisation number", 2, None)  # fmt: skip
CUSTOMER = _Party("customer", CUSTOMERS, "Customer/ImportCustomers", "CustomerFieldsThatAreSet",
                  "EmailAddress", "e-mail address", 2, 0)  # fmt: skip


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class PartyCodeService(OrderService):
    """An `OrderService` for buyer-number documents: checks in Query, then the two imports."""

    delivery: Delivery
    account_id: int
    lookup: Callable[[], PartyLookup] | None  # None in file mode
    order_email: Callable[[str], str | None]  # the buyer's e-mail on a received order
    application_key: str | None = None

    def check(self, call: OrderCall) -> OrderAnswer | None:
        """Our checks in Query alone, before anything is booked: the refusal, or None to send.

        NorceUnavailable when Query does not answer. In file mode there is nothing to check.
        """
        if self.lookup is None:
            return None
        try:
            for party, item in self._wanted(call.body, str(call.body.get("ClientOrderRef", ""))):
                self._checked(party, item)
        except _Refused as exc:
            return OrderAnswer("refused", str(exc), code=exc.code)
        return None

    def send(self, call: OrderCall, batch: str) -> OrderAnswer:
        """Write back the document's numbers; NorceError when Norce gave no clear answer.

        The checks run again here: Norce may have changed since `check`, and a document in
        doubt needs to know which numbers are already written.
        """
        body = call.body
        ref = str(body.get("ClientOrderRef", ""))
        if self.lookup is None:
            # Without Query there is no Id, and a new Code sent with only the e-mail or org
            # no makes Norce insert a second record: nothing is written, the document waits.
            return OrderAnswer(
                "waiting",
                f"order {ref}: writing the ERP's numbers back needs Norce Query to find each "
                "record's Id (http mode); in file mode nothing is written, the numbers wait",
            )
        try:
            wanted = self._wanted(body, ref)
            checked = [(party, self._checked(party, item)) for party, item in wanted]
        except _Refused as exc:
            return OrderAnswer("refused", str(exc), code=exc.code)
        todo = [(party, item) for party, item in checked if item is not None]
        if not todo:
            return OrderAnswer("sent", "Norce already had these numbers; nothing sent")
        calls = [self._call(party, item, f"{call.name}-{party.noun}") for party, item in todo]
        try:
            # One folder per document in file mode: a batch's folder keeps only its own calls.
            results = self.delivery.deliver(calls, f"{batch}/{file_stem(call.name)}")
        except NorceRejected as exc:
            # A job that did not import an item (no HTTP status), or a body Norce refused:
            # about this document, in Norce's own words. 401, 403, 404... are the setup's.
            if exc.status not in (None, *_DOCUMENT_REFUSALS):
                raise
            return OrderAnswer("refused", exc.detail or str(exc), code="norce_rejected")
        written = ", ".join(f"{p.noun} {item['Code']}" for p, item in todo)
        log.info("order %s: %s", ref, f"written back: {written}")  # numbers only, no names
        return OrderAnswer("sent", f"written back: {written}", location=results[-1].location)

    def _wanted(self, body: Mapping[str, Any], ref: str) -> list[tuple[_Party, dict[str, Any]]]:
        """Per party in the document, the Code and the match key (the e-mail filled in)."""
        wanted: list[tuple[_Party, dict[str, Any]]] = []
        if isinstance(company := body.get("Company"), Mapping):
            wanted.append((COMPANY, dict(company)))
        if isinstance(customer := body.get("Customer"), Mapping):
            item = dict(customer)
            if not item.get("EmailAddress"):
                email = self.order_email(ref)
                if email is None:
                    raise _Refused(
                        "buyer_not_received",
                        f"order {ref} was not received by this integration and the row has no "
                        f"e-mail address: Norce cannot find customer {item['Code']} without one. "
                        "Closed, not checked again: send the number again with the buyer's "
                        "e-mail address",
                    )
                item["EmailAddress"] = email
            wanted.append((CUSTOMER, item))
        return wanted

    def _checked(self, party: _Party, item: dict[str, Any]) -> dict[str, Any] | None:
        """The item to send, with the key as Norce holds it; None when Norce has the Code."""
        assert self.lookup is not None  # send() never gets here in file mode
        query, code = self.lookup(), str(item["Code"])
        holders = query.find_parties(party.entity_set, party.query_code, code)
        found = self._by_key(query, party, str(item[party.key]))
        ids = sorted(int(r["Id"]) for r in found if isinstance(r.get("Id"), int))
        if holders:
            holder = holders[0].get("Id")
            if ids == [holder]:
                return None
            if holder in ids:
                # The number is on a second record with this key, most likely inserted by
                # a company or customer file that went before this answer: two records now.
                shown = ", ".join(str(i) for i in ids if i != holder)
                raise _Refused(
                    "buyer_unmatched",
                    f"{party.noun} number {code} is on Norce {party.noun} Id {holder}, but the "
                    f"buyer of this order is Id {shown} with the same {party.key_words}: "
                    "merge the two in Norce Admin",
                )
            raise _Refused(
                "code_taken",
                f"{party.noun} number {code} already belongs to Norce {party.noun} Id {holder}; "
                f"giving it to this buyer too would merge two {party.noun} records",
            )
        if not ids:
            raise _Refused(
                "buyer_unmatched",
                f"no Norce {party.noun} has the {party.key_words} of this buyer; "
                f"{party.noun} number {code} was not written",
            )
        if len(ids) > 1:
            shown = ", ".join(str(i) for i in ids)
            raise _Refused(
                "buyer_unmatched",
                f"the {party.key_words} of this buyer is on Norce {party.noun} Ids {shown}; "
                f"{party.noun} number {code} was not written (which one is meant?)",
            )
        other = found[0].get(party.query_code)
        if other:
            raise _Refused(
                "buyer_unmatched",
                f"Norce {party.noun} Id {ids[0]} already has number {other}, not {code}",
            )
        return item | {"Id": ids[0]}  # Norce matches the Id first: the record, not an insert

    @staticmethod
    def _by_key(query: PartyLookup, party: _Party, value: str) -> list[dict[str, Any]]:
        """The records the key finds, trying the organisation number's usual written forms.

        The web shop stores an organisation number as the buyer typed it (556677-8899) and
        the ERP may write it otherwise (5566778899); Query compares strings exactly.
        """
        for form in _forms(party, value):
            found = query.find_parties(party.entity_set, party.key, form)
            if found:
                return found
        return []

    def _call(self, party: _Party, item: Mapping[str, Any], label: str) -> NorceCall:
        # Id (1 in both CustomerField and CompanyField [C S18]) is listed like what it carries.
        numbers = [1, party.code]
        sent = {"Id": item["Id"], "Code": item["Code"]}
        if self.application_key and party.application_key is not None:
            numbers = sorted([party.application_key, *numbers])
            sent["ApplicationKey"] = self.application_key
        header = {"AccountId": self.account_id, party.fields_header: numbers,
                  "SerializationType": 0}  # fmt: skip
        return NorceCall(party.method, header, [sent], label)


def _forms(party: _Party, value: str) -> list[str]:
    """The key as given, then (organisation numbers) its normal form in each country it fits."""
    forms = [value]
    if party is COMPANY:
        forms += [
            normalized_org_number(country, value)
            for country in ("SE", "NO", "DK", "FI")
            if org_number_ok(country, value)
        ]
    return list(dict.fromkeys(forms))

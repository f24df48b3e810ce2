"""What customers and companies share: the invoice address, options, and the Norce import.

Both imports (`Customer/ImportCustomers`, `Customer/ImportCompanies`) take one header with
`*FieldsThatAreSet` and nested items. The ERP number (`Code`) is the key, so every item is
matched on it alone (`SearchOnlyByCode`): two people sharing an e-mail address, or a company
whose organisation number changed, are never merged into another record. Removals set
`IsActive:false`; nothing is ever deleted. A row the ERP marks inactive (`is_active` false)
is a removal when Norce has it from us, and an add with IsActive false when it has not.

An item lists and sends only what it sets (see etl.entities.payloads): fields the contract
maps or defaults, on an add or a reactivation only those with a value. The invoice address
is one value in Norce, replaced whole: it is set when the contract maps any part of it, as
the object of the mapped parts (a contract that maps only some parts owns the whole address:
the parts it leaves out are cleared whenever the address is written).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl
from pydantic import Field

from etl.entities.base import CallContext, EntityOptions
from etl.entities.calls import NorceCall
from etl.entities.party_checks import COUNTRY
from etl.entities.payloads import (
    CallSequence,
    Item,
    json_value,
    setting_groups,
    stays_inactive,
)
from etl.models import Delta

ADDRESS = {
    "address_line1": "AddressLine1",
    "address_line2": "AddressLine2",
    "zip_code": "ZipCode",
    "city": "City",
    "country": "CountryCode",
}
INVOICE_ADDRESS = "invoice_address"  # the address fields as the one value Norce holds
ADDRESS_COLUMNS = {
    "address_line1": pa.Column(pl.String, [pa.Check.str_length(1, 255)], nullable=True),
    "address_line2": pa.Column(pl.String, [pa.Check.str_length(1, 255)], nullable=True),
    "zip_code": pa.Column(pl.String, [pa.Check.str_length(1, 20)], nullable=True),
    "city": pa.Column(pl.String, [pa.Check.str_length(1, 100)], nullable=True),
    "country": pa.Column(pl.String, [COUNTRY], nullable=True),
}
ADDRESS_LABELS = {
    "address_line1": "Invoice address, first line",
    "address_line2": "Invoice address, second line",
    "zip_code": "Postal code",
    "city": "City",
    "country": "Country, ISO 3166 two-letter code such as SE",
}


class PartyOptions(EntityOptions):
    """Options of the customer and company feeds.

    application_key: set when the Norce application keeps customers per application
    (application-unique); every item then carries it as `ApplicationKey`. Leave it out
    for client-unique customers (Norce's default), shared by every application.
    """

    application_key: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
    )


# Builds the item keys one field sets from the row (a list of relations and what goes with it).
Nested = Callable[[Mapping[str, Any]], Item]


@dataclass(frozen=True)
class PartyImport:
    """One of the two customer imports, described by its field numbers.

    scalars: field -> (Norce name, number in the FieldsThatAreSet array).
    nested: field -> (number, builder of the item keys it sets from the row).
    """

    method: str
    fields_header: str
    scalars: Mapping[str, tuple[str, int]]
    nested: Mapping[str, tuple[int, Nested]]
    code: int  # number of Code
    is_active: int
    invoice_address: int
    search_only_by_code: int
    application_key: int = 0

    def build(self, delta: Delta, context: CallContext) -> list[NorceCall]:
        """Adds, changes by group, reactivations and removals as numbered calls."""
        seq = CallSequence(self.method, context, [])
        key, account, carried = self._application_key(context), context.account_id, context.carried
        fields = [f for f in (*self.scalars, *self.nested, *ADDRESS) if f in carried]
        units = dict.fromkeys(ADDRESS, INVOICE_ADDRESS)
        for kind, setting, rows in setting_groups(delta, fields, units):
            active = None if kind.startswith("change") else True
            header = self._header(account, setting, active is not None, key)
            seq.add(kind, header, self._items(rows, setting, active, key, carried), rows)
        removes = self._header(account, (), True, key)
        gone = delta.removals
        seq.add("remove", removes, self._items(gone, (), False, key, carried), gone)
        return seq.calls

    @staticmethod
    def _application_key(context: CallContext) -> str | None:
        options = context.options
        return options.application_key if isinstance(options, PartyOptions) else None

    def _numbers(self, fields: Sequence[str]) -> set[int]:
        numbers = {self.scalars[f][1] for f in fields if f in self.scalars}
        numbers |= {self.nested[f][0] for f in fields if f in self.nested}
        if INVOICE_ADDRESS in fields:
            numbers.add(self.invoice_address)
        return numbers

    def _header(
        self, account: int, fields: Sequence[str], sets_active: bool, application_key: str | None
    ) -> dict[str, Any]:
        numbers = self._numbers(fields) | {self.code, self.search_only_by_code}
        numbers |= {self.is_active} if sets_active else set()
        numbers |= {self.application_key} if application_key else set()
        return {"AccountId": account, self.fields_header: sorted(numbers), "SerializationType": 0}

    def _items(
        self,
        rows: pl.DataFrame,
        fields: Sequence[str],
        active: bool | None,
        application_key: str | None,
        carried: Collection[str],
    ) -> list[Item]:
        items = []
        for row in rows.iter_rows(named=True):
            # Matching on Code alone is the header's SearchOnlyByCode number (18 / 20): the
            # contract's Customer and Company have no such property to send in an item.
            item: Item = {"Code": row["code"]}
            if application_key:
                item["ApplicationKey"] = application_key
            for f in fields:
                if f in self.scalars:
                    item[self.scalars[f][0]] = json_value(row[f])
                elif f in self.nested:
                    item |= self.nested[f][1](row)
                elif f == INVOICE_ADDRESS:
                    item["InvoiceAddress"] = address(row, carried)
            if active is not None:
                item["IsActive"] = active and not stays_inactive(row)
            items.append({k: v for k, v in item.items() if v is not None})
        return items


def address(row: Mapping[str, Any], carried: Collection[str] = ADDRESS) -> dict[str, Any] | None:
    """The row's invoice address as Norce's Address object, of the carried parts; None if empty."""
    parts = {
        norce: row[f] for f, norce in ADDRESS.items() if f in carried and row.get(f) is not None
    }
    return parts or None

"""`Customer/ImportCustomers` and `Customer/ImportCompanies` as Norce applies them: item by
item, matched on Code, Id or e-mail / org no (reference sections 7, 8)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Protocol

from tests.support.norce.answers import Json
from tests.support.norce.contract import ImportSpec, applies
from tests.support.norce.records import Applied, ItemFailed, Records

# Item switches that steer the import and are not stored; fields only Norce sets.
_CONTROL_KEYS = frozenset({"IsCompanyListDelta", "IsCustomerListDelta"})
SERVER_KEYS = frozenset({"Id", "Created", "Updated"})
_MATCH_KEYS = frozenset({"Id", "Code", "ApplicationKey"})  # find the record; never emptied


class PartyTables(Protocol):
    """Where a party import lands and what it looks up: both party tables, price lists, stamps."""

    customers: Records
    companies: Records

    def stamp(self) -> str: ...

    def price_list_codes(self) -> set[str]: ...


class PartyImport:
    """One ImportCustomers/ImportCompanies call applied item by item, as Norce does.

    Without SearchOnlyByCode an item matches on Code, else Id, else its third key (e-mail,
    org no), and every key it carries that finds a record must find the same one: that is
    how a Code is written back onto a record born without one, and how a Code, e-mail or
    org no already held by another record fails the item instead of merging two parties.
    """

    def __init__(self, state: PartyTables, spec: ImportSpec, listed: set[int]) -> None:
        assert spec.party is not None and spec.fields_header is not None
        self.state, self.spec, self.rules, self.listed = state, spec, spec.party, listed
        self.table: Records = getattr(state, spec.entity)
        self.price_lists = state.price_list_codes()

    def apply(self, items: Sequence[Json]) -> Applied:
        """Apply every item; an item Norce would refuse is a failure, not an error."""
        applied = Applied()
        for n, item in enumerate(items):
            try:
                inserted = self._apply(item)
            except ItemFailed as exc:
                noun = self.rules.noun.capitalize()
                applied.failures.append((f"{noun} [{n}]{_named(item)} not imported: {exc}", item))
                continue
            applied.inserts += inserted
            applied.updates += not inserted
        return applied

    def _apply(self, item: Json) -> bool:
        # The header's SearchOnlyByCode number is the switch (no item property in the contract).
        target = self._match(item, self.rules.search_only_by_code in self.listed)
        if target is None:
            self._check_insert(item)
        changes = self._changes(item, target)
        if target is None:
            self.table.insert({**self.rules.insert_defaults, **changes}, self.state.stamp())
            return True
        self.table.update(target["Id"], changes, self.state.stamp())
        return False

    def _match(self, item: Json, search_only: bool) -> Json | None:
        # [C] Norce's order: Id; else Code; the e-mail or org no only when Id and Code are
        # both omitted (docs: Connect customerservice schemas customer/company). A new Code
        # sent with the e-mail matches nothing and takes the insert path.
        code = self._key(item, "Code")
        by_code = self.table.by_code(code) if code else None
        if search_only:
            return by_code
        by_id = self._by_id(item)
        if by_code and by_id and by_code is not by_id:
            raise ItemFailed(f"Code {code} already belongs to {self._describe(by_code)}, "
                             f"not to Id {by_id['Id']}")  # fmt: skip
        target = by_id or by_code or (None if code else self._by_third_key(item))
        self._check_third_key(item, target, code if by_code else None)
        if target and code and not by_code and target.get("Code"):
            # Found by Id or third key, but already coded otherwise: Norce would not re-code.
            key = "Id" if by_id else self.rules.third_key
            raise ItemFailed(f"{key} {item[key]} is {self._describe(target)}, not Code {code}")
        return target

    def _by_id(self, item: Json) -> Json | None:
        if "Id" not in item:
            return None
        record = self.table.by_id(item["Id"])
        if record is None:
            raise ItemFailed(f"no {self.rules.noun} has Id {item['Id']}")
        return record

    def _by_third_key(self, item: Json) -> Json | None:
        value = self._key(item, self.rules.third_key)
        found = self.table.by_third_key(value) if value else []
        if len(found) > 1:
            ids = ", ".join(str(r["Id"]) for r in found)
            raise ItemFailed(f"{self.rules.third_key} {value} matches {self.rules.noun} Ids "
                             f"{ids}; send the Code or Id")  # fmt: skip
        return found[0] if found else None

    def _check_third_key(self, item: Json, target: Json | None, code: str | None) -> None:
        value = self._key(item, self.rules.third_key)
        holders = self.table.by_third_key(value) if value else []
        if not holders or any(r is target for r in holders):
            return
        if target is None:
            # [I] A new record may not share the e-mail or org no (no SearchOnlyByCode).
            ids = ", ".join(str(r["Id"]) for r in holders)
            raise ItemFailed(f"{self.rules.third_key} {value} matches {self.rules.noun} Ids "
                             f"{ids}; send the Id to give that record a Code")  # fmt: skip
        prefix = f"Code {code} already belongs to {self._describe(target)}; " if code else ""
        raise ItemFailed(f"{prefix}{self.rules.third_key} {value} already belongs to "
                         f"{self._describe(holders[0])}")  # fmt: skip

    def _key(self, item: Json, name: str) -> str | None:
        value = item.get(name)
        if value == "":
            raise ItemFailed(f"{name} is empty")
        return value

    def _changes(self, item: Json, target: Json | None) -> Json:
        changes = {
            name: copy.deepcopy(value) for name, value in item.items() if self._stored(name, value)
        }
        if "PriceLists" in changes:
            self._check_price_lists(changes["PriceLists"])
        if "Companies" in changes and self.spec.entity == "customers":
            delta = item.get("IsCompanyListDelta") is True
            changes["Companies"] = self._relations(changes["Companies"], target, delta)
        if target is not None:
            # [I] Connect is .NET: a field left out deserialises as null, and the header's
            # FieldsThatAreSet says which fields to set, so a listed field that is not sent
            # is emptied (how the ERP clears a phone number), not kept.
            for name, number in self.spec.field_numbers.items():
                if number in self.listed and name not in item and name not in _MATCH_KEYS:
                    changes[name] = None
        return changes

    def _stored(self, name: str, value: Any) -> bool:
        if name in _CONTROL_KEYS or name in SERVER_KEYS:
            return False
        if name not in self.spec.field_numbers:
            return name in self.rules.unnumbered  # Norce drops fields it does not know
        return applies(self.spec, self.listed, name, value)

    def _check_price_lists(self, entries: list[Json]) -> None:
        for n, entry in enumerate(entries):
            code = entry.get("Code")
            if not code:
                raise ItemFailed(f"PriceLists[{n}] has no Code")
            if code not in self.price_lists:
                raise ItemFailed(f"PriceLists[{n}]: price list {code} does not exist; "
                                 "create it with ImportPriceLists first")  # fmt: skip

    def _relations(self, entries: list[Json], target: Json | None, delta: bool) -> list[Json]:
        primary = {self._company(e, n)["Id"]: e.get("IsPrimary") is True
                   for n, e in enumerate(entries)}  # fmt: skip
        kept = (target or {}).get("Companies", []) if delta else []
        merged = {r["Id"]: r["IsPrimary"] for r in kept} | primary
        return [{"Id": company_id, "IsPrimary": p} for company_id, p in merged.items()]

    def _company(self, entry: Json, n: int) -> Json:
        companies = self.state.companies
        if "Code" in entry:
            found, named = companies.by_code(entry["Code"]), f"Code {entry['Code']}"
        elif "Id" in entry:
            found, named = companies.by_id(entry["Id"]), f"Id {entry['Id']}"
        elif "OrganizationNo" in entry:
            matches = companies.by_third_key(entry["OrganizationNo"])
            found = matches[0] if len(matches) == 1 else None
            named = f"OrganizationNo {entry['OrganizationNo']}"
        else:
            raise ItemFailed(f"Companies[{n}] names no company: send Code, Id or OrganizationNo")
        if found is None:
            raise ItemFailed(f"Companies[{n}]: no single company with {named}; "
                             "import the company first")  # fmt: skip
        return found

    def _check_insert(self, item: Json) -> None:
        problems = []
        for name in self.rules.required:
            if not item.get(name):
                problems.append(f"{name} is missing")
            elif self.spec.field_numbers[name] not in self.listed:
                number = self.spec.field_numbers[name]
                problems.append(f"{name} ({number}) is not in {self.spec.fields_header}")
        if problems:
            needs = ", ".join(self.rules.required)
            raise ItemFailed(f"a new {self.rules.noun} needs {needs}: {'; '.join(problems)}")

    def _describe(self, record: Json) -> str:
        code = f" (Code {record['Code']})" if record.get("Code") else ""
        return f"{self.rules.noun} Id {record['Id']}{code}"


def _named(item: Json) -> str:
    for name in ("Code", "Id", "EmailAddress", "OrganizationNo"):
        if item.get(name) not in (None, ""):
            return f" ({name} {item[name]})"
    return ""


def code_or_id(record: Json) -> str | int:
    """A party's Code, or its Id when it has none."""
    code: str | int = record.get("Code") or record["Id"]
    return code

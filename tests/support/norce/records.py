"""What Norce would hold: a table of parties indexed by Code, Id and e-mail or org no, and the
outcome of one accepted import."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tests.support.norce.answers import Json
from tests.support.norce.contract import PartyRules


class ItemFailed(Exception):
    """Norce would not import this one item (a SeverityId 3 log entry); the job goes on."""


@dataclass
class Applied:
    """What one accepted import did: its counts and the items Norce did not import."""

    inserts: int = 0
    updates: int = 0
    failures: list[tuple[str, Json]] = field(default_factory=list)  # (message, item)


class Records(Mapping[int | str, Json]):
    """One kind of party by stand-in Id; `records["C-1"]` finds by Code, `records[10001]` by Id.

    Iterating yields Ids. Every write goes through `insert`/`update`, which keep the Code and
    third-key (e-mail, org no) indexes and refuse a Code another record holds.
    """

    def __init__(self, rules: PartyRules, first_id: int) -> None:
        self.rules = rules
        self._rows: dict[int, Json] = {}
        self._codes: dict[str, int] = {}
        self._thirds: dict[str, set[int]] = {}
        self._next_id = first_id

    def __getitem__(self, key: int | str) -> Json:
        record = self.by_code(key) if isinstance(key, str) else self.by_id(key)
        if record is None:
            raise KeyError(key)
        return record

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def by_code(self, code: str) -> Json | None:
        """The record with this Code, if any."""
        row_id = self._codes.get(code)
        return None if row_id is None else self._rows[row_id]

    def by_id(self, row_id: int) -> Json | None:
        """The record with this stand-in Id, if any."""
        return self._rows.get(row_id)

    def by_third_key(self, value: str) -> list[Json]:
        """Records whose e-mail (customers) or org no (companies) is `value`, by Id."""
        return [self._rows[i] for i in sorted(self._thirds.get(self._fold(value), ()))]

    def insert(self, fields: Json, stamp: str) -> int:
        """Add a record with the next Id, stamped Created and Updated; return its Id."""
        self._check_code(fields.get("Code"), None)
        row_id, self._next_id = self._next_id, self._next_id + 1
        self._rows[row_id] = {"Id": row_id}
        self.update(row_id, {**fields, "Created": stamp}, stamp)
        return row_id

    def update(self, row_id: int, changes: Json, stamp: str) -> Json:
        """Change a record's fields and its Updated stamp; return the record."""
        record = self._rows[row_id]
        self._check_code(changes.get("Code"), row_id)
        self._index(record, add=False)
        record.update(changes, Updated=stamp)
        self._index(record, add=True)
        return record

    def _check_code(self, code: str | None, row_id: int | None) -> None:
        holder = self._codes.get(code) if code else None
        if holder is not None and holder != row_id:
            raise ValueError(f"Code {code} already belongs to {self.rules.noun} Id {holder}")

    def _index(self, record: Json, *, add: bool) -> None:
        row_id, code, third = record["Id"], record.get("Code"), record.get(self.rules.third_key)
        holders = self._thirds.setdefault(self._fold(third), set()) if third else set()
        if add:
            self._codes.update({code: row_id} if code else {})
            holders.add(row_id)
        else:
            self._codes.pop(code or "", None)
            holders.discard(row_id)

    def _fold(self, value: str) -> str:
        return value.casefold() if self.rules.fold_third_key else value

"""Masking one person's values in a record: the rule every place shares.

A person is known by anchors (their customer codes, e-mail addresses, phone and identity
numbers, and the references of their orders) and by values. Values that identify on
their own (e-mail, phone, identity number) are masked wherever they stand. Values many
people share (a first name, a street, a city) are masked only inside a record that holds
an anchor: a CSV line, an XLSX or Parquet row, a ledger row, a JSON list item, an XML
record. So another Anna, or a colleague in the same town, keeps every value.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etl.to_erp.files.charset import encodable_in, fit
from etl.to_erp.files.layout_spec import OrderFormat

ERASED = "[erased]"
# A character's near equivalent in plain ASCII: what a transliterating layout writes for
# `ł` in any encoding that lacks it.
_ASCII = encodable_in("ascii")
# What a layout with `unencodable = "replace"` writes, unless it names its own character.
DEFAULT_REPLACEMENT = frozenset(OrderFormat().replacement)
# A line break inside a value, as any file may end its lines (a CSV cell keeps the file's).
_LINE_BREAK = r"(?:\r\n|\r|\n)"


# A value stands alone only between separators: "1001" is no part of the code "K-1001", and
# "Anna" no part of "anna.andersson@example.se" (another person's address stays whole).
_BEFORE = r"(?<![\w@.\-])"
_AFTER = r"(?![\w@\-]|\.\w)"


def is_value(text: str) -> bool:
    """Whether `text` can name a person: two characters or more, and nothing masked before."""
    return len(text.strip()) >= 2 and ERASED not in text


def _words(values: Iterable[str], unfit_as: frozenset[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for whole-word occurrences of `values`, longest first."""
    kept = sorted({v for v in values if is_value(v)}, key=len, reverse=True)
    if not kept:
        return None
    forms = "|".join(_as_written(v, unfit_as) for v in kept)
    return re.compile(rf"{_BEFORE}(?:{forms}){_AFTER}", re.IGNORECASE)


def _as_written(value: str, unfit_as: frozenset[str]) -> str:
    """A value as a pattern for every way a file we wrote may hold it.

    An order file in an encoding without `ł` or `ż` holds "Łukasz Żak" as "Lukasz Zak"
    (`unencodable = "transliterate"`, etl.to_erp.files.charset), and "Øvrebø" in ASCII as
    "?vreb?" (`replace`, with a character of `unfit_as`); a CSV cell doubles a quote and ends
    a line inside it as the file ends its lines.
    """
    one_break = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(_char_as_written(c, unfit_as) for c in one_break)


@functools.cache
def _char_as_written(char: str, unfit_as: frozenset[str]) -> str:
    if char == '"':
        return '"{1,2}'
    if char == "\n":
        return _LINE_BREAK
    # The renderer's candidates: a letter folded (`ł` -> `l`), else its base without accents
    # (`ǣ` -> `æ` in an encoding that has `æ`; ASCII has neither, so `ǣ` holds the order),
    # else, under `replace`, the layout's replacement: any letter beyond ASCII may be one.
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    near = (char, fit(char, _ASCII, "transliterate", "").text, base)
    replaced = sorted(unfit_as) if not char.isascii() else []
    forms = dict.fromkeys(f for f in (*near, *replaced) if f)
    if len(forms) == 1:
        return re.escape(char)
    return f"(?:{'|'.join(map(re.escape, forms))})"


@dataclass(frozen=True)
class Person:
    """What identifies one person (anchors), and what is theirs to mask."""

    anchors: frozenset[str]
    strong: frozenset[str]  # identifies them alone: masked everywhere
    weak: frozenset[str]  # shared with others: masked only in their records
    orders: frozenset[str] = frozenset()  # their order refs: anchors in order records only

    @property
    def found(self) -> bool:
        """Whether anything is known of the person at all."""
        return bool(self.anchors)


class Masker:
    """Masks a person's values in texts and records; counts what it masked.

    An order ref ("1001") is a plain number another record may hold for another reason (a
    customer number, a quantity): it names the person only in order records (`in_orders`).
    """

    def __init__(
        self,
        person: Person,
        *,
        in_orders: bool = False,
        unfit_as: frozenset[str] = DEFAULT_REPLACEMENT,
    ) -> None:
        """`unfit_as`: the characters layouts write for a letter their encoding lacks."""
        self.person = person
        self.unfit_as = unfit_as
        anchors = person.anchors | (person.orders if in_orders else frozenset())
        self._anchor = _words(anchors, unfit_as)
        self._strong = _words(person.strong, unfit_as)
        self._all = _words(person.strong | person.weak, unfit_as)

    def in_orders(self) -> Masker:
        """The same person and forms, with their order refs as anchors (order records only)."""
        return Masker(self.person, in_orders=True, unfit_as=self.unfit_as)

    def holds_anchor(self, texts: Iterable[str]) -> bool:
        """Whether any of `texts` names the person: the record is theirs."""
        pattern = self._anchor
        return pattern is not None and any(pattern.search(t) for t in texts)

    def mask(self, text: str, *, theirs: bool) -> tuple[str, int]:
        """`text` with the person's values as `[erased]` (all of them in their record)."""
        pattern = self._all if theirs else self._strong
        if pattern is None:
            return text, 0
        return pattern.subn(ERASED, text)

    def mask_record(self, cells: Sequence[str | None]) -> tuple[list[str | None], int]:
        """The cells of one record, masked; the record is theirs when a cell holds an anchor."""
        theirs = self.holds_anchor(c for c in cells if c)
        masked: list[str | None] = []
        total = 0
        for cell in cells:
            if cell is None:
                masked.append(None)
                continue
            new, n = self.mask(cell, theirs=theirs)
            masked.append(new)
            total += n
        return masked, total

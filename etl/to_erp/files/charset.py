"""Characters an order file cannot hold, and what a layout says to do about them.

A Windows-1252 ERP cannot take `ł` (Łukasz), `ő` (Erdős) or an emoji in a gift message, and
an XML file cannot take most control characters in any encoding. Python would either crash
on them or, with `errors="replace"`, quietly turn them into `?`, and then the ERP has a
customer called `?ukasz`. A layout declares one policy (`[format] unencodable`):

- `hold` (default): the order is held with a reason naming the field and the character;
  nothing about it is changed behind anyone's back;
- `transliterate`: a character with a plain near equivalent becomes that (`ł` -> `l`,
  `ő` -> `o`, `ﬁ` -> `fi`, a non-breaking hyphen -> `-`); one without (an emoji, Chinese)
  still holds the order;
- `replace`: like transliterate, and what is left becomes `replacement`, logged per order.

Control characters (C0 but tab, line feed and carriage return; DEL; C1) count as characters
no file can hold, in any encoding: an ERP reads them as commands or data breaks, a terminal
showing the file runs them. They have no near equivalent, so `hold` and `transliterate` hold
the order and `replace` writes `replacement`. A line break stays text: CSV quotes it and XML
allows it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Policy = Literal["hold", "transliterate", "replace"]

# Letters Unicode gives no decomposition for, so NFKD alone cannot fold them.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ħ": "h",
        "Ħ": "H",
        "\u0131": "i",  # dotless i
        "ŀ": "l",
        "Ŀ": "L",
        "ŧ": "t",
        "Ŧ": "T",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u2032": "'",
        "\u2033": '"',
    }
)


# Control characters (C0 but tab, line feed and carriage return; DEL; C1) and, for XML, also
# what XML 1.0 does not allow (surrogates, U+FFFE, U+FFFF): one search a text, in C, instead
# of a Python test per character (prepare runs it on every cell of every order).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Fitted:
    """A text made to fit: the text, and what could not be fitted or was changed."""

    text: str
    unfit: tuple[str, ...] = ()  # characters left that the file cannot hold
    changed: bool = False  # transliterated or replaced


def encodable_in(encoding: str) -> Callable[[str], bool]:
    """A test of whether a text can be written in `encoding` (and holds no control character)."""

    def holds(text: str) -> bool:
        """Whether `text` encodes."""
        if _CONTROL.search(text) is not None:
            return False
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            return False
        return True

    return holds


def xml_legal(text: str) -> bool:
    """Whether XML 1.0 allows every character (escaping does not help the others).

    The C1 controls and DEL, which XML allows but discourages, are refused as well.
    """
    return _NOT_XML.search(text) is None


def fit(text: str, holds: Callable[[str], bool], policy: Policy, replacement: str) -> Fitted:
    """`text` as the file can hold it under `policy`."""
    if holds(text):
        return Fitted(text)
    if policy == "hold":
        return Fitted(text, tuple(dict.fromkeys(c for c in text if not holds(c))))
    out: list[str] = []
    unfit: list[str] = []
    for char in text:
        if holds(char):
            out.append(char)
            continue
        near = _near(char, holds)
        if near is not None:
            out.append(near)
        elif policy == "replace":
            out.append(replacement)
        else:
            out.append(char)
            unfit.append(char)
    return Fitted("".join(out), tuple(dict.fromkeys(unfit)), changed=True)


def _near(char: str, holds: Callable[[str], bool]) -> str | None:
    """A plain equivalent the file can hold, or None."""
    folded = char.translate(_FOLD)
    if folded != char and holds(folded):
        return folded
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and base != char and holds(base):
        return base
    return None


def describe(char: str) -> str:
    """`'ł' (U+0142 LATIN SMALL LETTER L WITH STROKE)`, for a reason a person reads."""
    name = unicodedata.name(char, "unnamed character")
    shown = repr(char) if char.isprintable() else "a control character"
    return f"{shown} (U+{ord(char):04X} {name})"

"""Remote file names: as text for the product, as the exact bytes for the server, safe to print.

A server hands names over as bytes. UTF-8 names read as themselves; any other name is read as
Windows-1252 (what a Windows ERP writes), and the store keeps its bytes so it can reach the
file again (`RawNames`). Names are printed through `printable`, so a newline or an escape
sequence in a name can never forge a log line or break a table.
"""

from __future__ import annotations

import posixpath
import unicodedata
from collections import Counter


def _cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        # Five bytes have no Windows-1252 character: read them as Latin-1 (C1 controls), which
        # `name_problem` then refuses, rather than failing the whole listing.
        return chr(byte)


_CP1252 = tuple(_cp1252(b) for b in range(256))


def _hidden(char: str) -> bool:
    """Control, format, line-separator or unassigned: changes how a printed line reads."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def printable(name: str) -> str:
    """A name as it may be printed: hidden characters and backslashes escaped as in repr."""
    return "".join("\\\\" if c == "\\" else repr(c)[1:-1] if _hidden(c) else c for c in name)


def one_line(text: str) -> str:
    """Free text (a message) on one line: hidden characters escaped, backslashes kept."""
    return "".join(repr(c)[1:-1] if _hidden(c) else c for c in text)


def name_problem(name: str) -> str:
    """Why the product refuses a remote file name, or "" when it takes it."""
    if "\\" in name:
        return "its name contains a backslash"
    hidden = sorted({c for c in name if _hidden(c)})
    if hidden:
        shown = ", ".join(repr(c)[1:-1] for c in hidden)
        return f"its name contains control characters ({shown})"
    return ""


def decode(raw: bytes) -> str:
    """A name as text: UTF-8 if it is, else Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_CP1252[b] for b in raw)


class RawNames:
    """The bytes behind the text names of a store's listings, where they are not UTF-8.

    Paths are store-relative. A name that is UTF-8 needs no entry: its text encodes back to
    it. An entry lives until its folder is listed again.
    """

    def __init__(self) -> None:
        self._raw: dict[str, bytes] = {}

    def listed(self, folder: str, names: list[bytes]) -> list[str]:
        """Text names for one listing of `folder` (relative, normalised), in the same order."""
        parent = "" if folder == "." else folder
        for path in [p for p in self._raw if posixpath.dirname(p) == parent]:
            del self._raw[path]
        texts = [decode(raw) for raw in names]
        taken = Counter(texts)
        result = []
        for raw, text in zip(names, texts, strict=True):
            if text.encode("utf-8") != raw and taken[text] > 1:
                # A UTF-8 name reads the same: keep both files apart, this one by its bytes
                # (the backslash makes the product refuse it, with a reason, never skip it).
                text = raw.decode("utf-8", "backslashreplace")
            if text.encode("utf-8") != raw:
                self._raw[posixpath.join(parent, text)] = self._join(parent, raw)
            result.append(text)
        return result

    def raw(self, path: str) -> bytes:
        """The bytes of a store-relative path."""
        found = self._raw.get(path)
        return found if found is not None else path.encode("utf-8")

    def renamed(self, path: str, new_path: str) -> bytes:
        """The bytes of `new_path`; a file keeping its name keeps its bytes in the new folder."""
        folder, name = posixpath.split(new_path)
        if path not in self._raw or posixpath.basename(path) != name:
            return self.raw(new_path)
        return self._join(folder, posixpath.basename(self._raw[path]))

    def _join(self, folder: str, raw_name: bytes) -> bytes:
        return self.raw(folder) + b"/" + raw_name if folder else raw_name

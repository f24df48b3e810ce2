"""Order file names: deterministic, safe on any server, never one that is already taken.

A name comes from the layout's `file_name` template and the orders in the file, never from
the clock, so rendering the same orders again gives the same name (a run cut off before its
export was recorded leaves nothing to clean up under another name). Placeholders:

    {ref}    the order's ClientOrderRef (per = "order" only)
    {first}  the ClientOrderRef of the first order in the file (oldest received)
    {last}   the ClientOrderRef of the last one
    {count}  how many orders the file holds
    {date}   the day the first order was received, YYYYMMDD (UTC)
    {batch}  10 hex digits identifying exactly these orders (and their resend generation)

References are made safe: anything but letters, digits, `.`, `_` and `-` becomes `_`. When
the name is taken (an earlier export of the layout used it, or a file of that name or its
temp name is on the server) `_2`, `_3`... go before the extension: `ORD_1001.csv`,
`ORD_1001_2.csv` (a resent order, or two references that are the same once made safe).
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable, Sequence

from etl.errors import EtlError
from etl.to_erp.orders.book import OrderRow

PLACEHOLDERS = frozenset({"ref", "first", "last", "count", "date", "batch"})
MAX_ATTEMPTS = 1000
_SAFE = re.compile(r"^[A-Za-z0-9._-]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def template_problem(template: str, per: str) -> str | None:
    """Why `template` cannot name order files, or None."""
    fields, literal = _parse(template)
    if fields is None:
        return f"{template!r} is not a name template (placeholders look like {{ref}})"
    unknown = sorted(set(fields) - PLACEHOLDERS)
    if unknown:
        known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        return f"unknown placeholder {{{unknown[0]}}} (known: {known})"
    if not _SAFE.match(literal):
        return "only letters, digits, '.', '_' and '-' besides placeholders (no folders, no spaces)"
    if template.startswith("."):
        return "a name starting with '.' is a hidden file the ERP would never pick up"
    if per == "order" and "ref" not in fields:
        return 'per = "order" names each file after its order: put {ref} in it'
    if per == "batch" and "ref" in fields:
        return "a batch holds many orders: use {first}, {last} or {batch} instead of {ref}"
    if per == "batch" and not {"first", "last", "batch"} & set(fields):
        return "a batch name needs {first}, {last} or {batch}, so batches get distinct names"
    return None


def marker_problem(template: str) -> str | None:
    """Why `template` cannot name a done-marker, or None."""
    fields, literal = _parse(template)
    if fields is None or set(fields) - {"name", "stem"} or not fields:
        return "a marker name uses {name} (the order file's name) or {stem} (it without extension)"
    if not _SAFE.match(literal) or template.startswith("."):
        return "only letters, digits, '.', '_' and '-' besides placeholders, not starting with '.'"
    if template in ("{name}", "{stem}"):
        return "the marker needs a name of its own, e.g. {name}.done"
    return None


def _parse(template: str) -> tuple[list[str] | None, str]:
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return None, ""
    fields: list[str] = []
    for _, field, spec, conversion in parts:
        if field is not None:
            if spec or conversion or not field.isidentifier():
                return None, ""
            fields.append(field)
    return fields, "".join(literal for literal, *_ in parts)


def safe(ref: str) -> str:
    """A reference as a piece of a file name."""
    return _UNSAFE.sub("_", ref)[:50].lstrip(".") or "order"


def base_name(template: str, orders: Sequence[OrderRow]) -> str:
    """The template filled in for these orders (before any `_2` suffix)."""
    first, last = orders[0], orders[-1]
    digest = hashlib.sha256("\n".join(f"{o.ref}:{o.generation}" for o in orders).encode())
    return template.format(
        ref=safe(first.ref),
        first=safe(first.ref),
        last=safe(last.ref),
        count=len(orders),
        date=first.received_at[:10].replace("-", ""),
        batch=digest.hexdigest()[:10],
    )


def numbered(name: str, attempt: int) -> str:
    """`name` for the first attempt, then `_2`, `_3`... before its extension."""
    if attempt == 1:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name}_{attempt}"
    return f"{stem}_{attempt}.{extension}"


def choose(template: str, orders: Sequence[OrderRow], taken: Callable[[str], bool]) -> str:
    """The first name for these orders that `taken` does not refuse."""
    name = base_name(template, orders)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        candidate = numbered(name, attempt)
        if not taken(candidate):
            return candidate
    raise EtlError(
        f"{MAX_ATTEMPTS} names after {name!r} are all taken: clear old files on the server"
    )


def marker(template: str, name: str) -> str:
    """The done-marker's name for the order file `name`."""
    stem = name.rpartition(".")[0] or name
    return template.format(name=name, stem=stem)

"""Element paths in an XML order layout: `cac:Party/cbc:EndpointID/@schemeID` and the like.

A path is element steps separated by `/`, optionally ending in `@attribute`; each name may
carry a prefix declared in `[format] namespaces`. A name without a prefix is in the default
`namespace` when one is declared (as in a UBL document); an attribute without a prefix is
in no namespace, as XML says. Paths are resolved to Clark names (`{uri}local`) once, when
the layout is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = r"[A-Za-z_][\w.-]*"
_QNAME = rf"(?:{_NAME}:)?{_NAME}"
_PATH = re.compile(rf"^(?:{_QNAME}(?:/{_QNAME})*)?(?:/?@{_QNAME})?$")
_ELEMENTS = re.compile(rf"^{_QNAME}(?:/{_QNAME})*$")


@dataclass(frozen=True)
class XmlPath:
    """Element steps from a base element, and an optional attribute of the last one."""

    steps: tuple[str, ...]
    attribute: str | None = None


def parse_path(
    text: str, namespace: str | None, namespaces: Mapping[str, str], *, elements_only: bool = False
) -> XmlPath:
    """Resolve a path; ValueError saying what is wrong with it."""
    shape = _ELEMENTS if elements_only else _PATH
    if not text or not shape.match(text):
        hint = "A/B" if elements_only else "A/B, A/B/@attr or @attr"
        raise ValueError(f"{text!r} is not an element path (write {hint}; prefixes as cbc:Name)")
    elements, _, attribute = text.partition("@")
    steps = tuple(
        qualify(step, namespace, namespaces, attribute=False)
        for step in elements.strip("/").split("/")
        if step
    )
    if attribute:
        return XmlPath(steps, qualify(attribute, namespace, namespaces, attribute=True))
    return XmlPath(steps)


def qualify(
    name: str, namespace: str | None, namespaces: Mapping[str, str], *, attribute: bool
) -> str:
    """`prefix:local` -> `{uri}local`; an unprefixed element takes the default namespace."""
    prefix, _, local = name.rpartition(":")
    if prefix:
        if prefix not in namespaces:
            declared = ", ".join(sorted(namespaces)) or "none"
            raise ValueError(
                f"prefix {prefix!r} in {name!r} is not in [format] namespaces (declared: {declared})"
            )
        return f"{{{namespaces[prefix]}}}{local}"
    if attribute or not namespace:
        return local
    return f"{{{namespace}}}{local}"

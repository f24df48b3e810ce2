"""Start-up checks of an XML feed's paths: record, repeat and every column path.

Record and repeat are plain element steps; columns follow etl.config.xml_paths; every
namespace prefix is declared; position() and predicates are used where they mean something.
"""

from __future__ import annotations

import re

from etl.config.contracts import FeedContract
from etl.config.xml_paths import NAME, parse_field
from etl.errors import ConfigError

_XML_RECORD = re.compile(rf"^/?{NAME}(?:/{NAME})*$")
_XML_STEPS = re.compile(rf"^{NAME}(?:/{NAME})*$")
_FIELD_HINT = (
    "use Name, A/B, @attr, A/@attr, A[B='x']/C, A[@b='x']/C, or position() of the record "
    "or the repeat element (see etl/config/xml_paths.py)"
)


def check_xml_paths(contract: FeedContract, source: str) -> None:
    """Record and repeat are plain element steps; columns follow etl.config.xml_paths; prefixes declared."""
    fmt = contract.format
    paths = [("format.record", fmt.record or "", _XML_RECORD, "use element steps, e.g. A/B")]
    if fmt.repeat is not None:
        hint = "use element steps below the record, e.g. Prices/Price"
        paths.append(("format.repeat", fmt.repeat, _XML_STEPS, hint))
    for key, path, shape, hint in paths:
        if not shape.match(path):
            raise ConfigError(source, key, f"{path!r} is not a usable path: {hint}")
        _check_prefixes(re.split(r"[/@]", path), fmt.namespaces, source, key)
    derived = [(f"derive.{f}.column", d.column) for f, d in contract.derive.items()]
    for key, path in [*((f"columns.{p}", p) for p in contract.columns), *derived]:
        try:
            parsed = parse_field(path)
        except ValueError as exc:
            raise ConfigError(source, key, f"{exc}: {_FIELD_HINT}") from exc
        names = [*parsed.names, parsed.attribute or ""]
        names += [s.predicate.name for s in parsed.steps if s.predicate is not None]
        _check_prefixes(names, fmt.namespaces, source, key)
    _check_positions(contract, source)
    _check_predicates(contract, source)
    if fmt.repeat is not None:
        _check_repeat(contract, fmt.repeat, source)


def _check_prefixes(names: list[str], namespaces: dict[str, str], source: str, key: str) -> None:
    for name in names:
        prefix = name.split(":", 1)[0] if ":" in name else None
        if prefix is not None and prefix not in namespaces:
            raise ConfigError(
                source, key, f"namespace prefix {prefix!r} is not in [format.namespaces]"
            )


def _read_paths(contract: FeedContract) -> list[tuple[str, str]]:
    """(dotted key, XML path) of every path the feed reads: [columns], then [derive]."""
    derived = {d.column: f"derive.{field}.column" for field, d in reversed(contract.derive.items())}
    return [
        (f"columns.{path}" if path in contract.columns else derived[path], path)
        for path in contract.read_columns()
    ]


def _check_positions(contract: FeedContract, source: str) -> None:
    """`position()` numbers the records of a file or the repeats of a record, nothing else."""
    namespaces, repeat = contract.format.namespaces, contract.format.repeat
    allowed = {()} | ({element_steps(repeat, namespaces)} if repeat else set())
    for key, path in _read_paths(contract):
        parsed = parse_field(path)
        if parsed.position and element_steps(path, namespaces) not in allowed:
            where = f"position() or {repeat}/position()" if repeat else "position()"
            raise ConfigError(
                source,
                key,
                f"position() is read of the record or of format.repeat: write {where}",
            )


def _check_predicates(contract: FeedContract, source: str) -> None:
    """No predicate on the repeat element or above it: each of its occurrences is a row."""
    repeat = contract.format.repeat
    if repeat is None:
        return
    depth = len(element_steps(repeat, contract.format.namespaces))
    for key, path in _read_paths(contract):
        chosen = any(s.predicate is not None for s in parse_field(path).steps[:depth])
        if chosen and _below(path, contract):
            raise ConfigError(
                source,
                key,
                f"a predicate cannot choose {repeat!r} or an element above it: each "
                "occurrence of the repeat element is a row",
            )


def _below(path: str, contract: FeedContract) -> bool:
    """Whether a column path is read from below format.repeat."""
    namespaces, repeat = contract.format.namespaces, contract.format.repeat or ""
    steps = element_steps(repeat, namespaces)
    return element_steps(path, namespaces)[: len(steps)] == steps


def _check_repeat(contract: FeedContract, repeat: str, source: str) -> None:
    """Some columns, a key field among them, read from the repeat element, spelled alike."""
    namespaces = contract.format.namespaces
    steps = element_steps(repeat, namespaces)
    local = tuple(s.rsplit("}", 1)[-1] for s in steps)
    below: set[str] = set()
    for key, path in _read_paths(contract):
        resolved = element_steps(path, namespaces)
        if resolved[: len(steps)] == steps:
            below.add(path)
        elif tuple(s.rsplit("}", 1)[-1] for s in resolved[: len(steps)]) == local:
            # Same names in another namespace: almost surely a prefix missing or mistyped,
            # which would silently read the field once per record instead of per occurrence.
            raise ConfigError(
                source,
                key,
                f"names the elements of format.repeat {repeat!r} in another namespace: "
                "write it with the same prefixes",
            )
    if not below:
        raise ConfigError(
            source,
            "format.repeat",
            f"no column is read from below {repeat!r}: map {repeat}/Child, {repeat}/@attr "
            f"or {repeat} (its text)",
        )
    sources = contract.field_sources()
    if not any(sources.get(field) in below for field in contract.key_fields):
        raise ConfigError(
            source,
            "format.repeat",
            f"no key field is read from below {repeat!r}, so all rows of a record would "
            f"share one key: map one of {', '.join(contract.key_fields)} from it",
        )


def element_steps(path: str, namespaces: dict[str, str]) -> tuple[str, ...]:
    """The element steps of a path (predicates left out), each prefix replaced by its URI."""
    steps: list[str] = []
    for name in parse_field(path).names:
        prefix, _, local = name.rpartition(":")
        steps.append(f"{namespaces[prefix]}}}{local}" if prefix else local)
    return tuple(steps)

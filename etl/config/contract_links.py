"""Start-up checks between contracts: `source.from_feed` and `[references]`.

A derived feed reads another feed's files, so it must read them as that feed does (the
same [format]); a reference names another feed and one of its fields; references never go
round in a circle (etl.config.run_order).
"""

from __future__ import annotations

import json

from etl.config.contract_format import formats_of
from etl.config.contract_xml_checks import element_steps
from etl.config.contracts import FeedContract
from etl.config.run_order import NORCE_NEEDS, order_of_runs
from etl.errors import ConfigError


def check_links(contracts: dict[str, FeedContract]) -> None:
    """`source.from_feed` and `[references]` name feeds that exist and can be read that way."""
    for contract in contracts.values():
        source, parent = str(contract.path), contract.source.from_feed
        if parent is not None:
            other = contracts.get(parent)
            if other is None or other.source.from_feed is not None or other is contract:
                raise ConfigError(
                    source, "source.from_feed", f"{parent!r} is not a feed that picks up files"
                )
            _check_same_dialect(contract, other, source)
        for field, target in contract.references.items():
            key = f"references.{field}"
            if field not in contract.entity.fields():
                raise ConfigError(source, key, f"not a field of {contract.entity.name}")
            feed, _, other_field = target.partition(".")
            other = contracts.get(feed)
            if other is None or other is contract or other_field not in other.entity.fields():
                raise ConfigError(
                    source, key, f"{target!r} must name another feed and one of its fields"
                )
    order_of_runs(contracts)  # refuses a cycle


def _check_same_dialect(contract: FeedContract, parent: FeedContract, source: str) -> None:
    """A derived feed reads its parent's files as they are written: the same [format].

    Only `field_formats` may differ: it names the feed's own date fields, which the parent's
    entity may not even have (a product's launch date, a stock row's delivery date). A date
    key is compared as the formats it lists ("%Y-%m-%d" is ["%Y-%m-%d"]). Namespace prefixes
    are local to a contract (each feed reads its own column paths with its own), so
    `namespaces` is not compared; `record` and `repeat` are, by the elements they name.
    """
    found = _difference(_dialect(contract), _dialect(parent), "format")
    if found is not None:
        key, here, there = found
        raise ConfigError(
            source,
            key,
            f"{here} here, {there} in feed {parent.name} (it reads that feed's files)",
        )


def _dialect(contract: FeedContract) -> dict[str, object]:
    """The [format] keys that say how a file is read, as `_check_same_dialect` compares them."""
    fmt = contract.format
    dumped = fmt.model_dump(exclude={"field_formats", "namespaces"})
    for key in ("date_format", "datetime_format"):
        listed = formats_of(getattr(fmt, key))
        dumped[key] = listed[0] if len(listed) == 1 else list(listed)
    for key in ("record", "repeat"):
        path = getattr(fmt, key)
        if fmt.type == "xml" and path is not None:
            steps = element_steps(path.strip("/"), fmt.namespaces)  # "uri}Item" when prefixed
            dumped[key] = "/".join("{" + s if "}" in s else s for s in steps)
    return dumped


def _difference(mine: object, theirs: object, key: str) -> tuple[str, str, str] | None:
    """The first dotted key where two dumped tables differ, with both values as TOML writes them."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for name in dict.fromkeys([*mine, *theirs]):  # a key either side lacks differs too
            found = _difference(mine.get(name), theirs.get(name), f"{key}.{name}")
            if found is not None:
                return found
        return None
    if mine == theirs:
        return None
    return key, _shown(mine), _shown(theirs)


def _shown(value: object) -> str:
    """A contract value as it is written: "text", 1, true, ["a", "b"]; a table is just set."""
    if value is None:
        return "not set"
    if isinstance(value, dict):
        return "set"
    return json.dumps(value, ensure_ascii=False)


def implied_references(parent: FeedContract, derived: FeedContract) -> dict[str, str]:
    """A follower's references, with the one to the parent its entity needs added.

    A price read from the products file is sent after that file's products; a price whose
    SKU the products run rejected (or whose file it rejected) must wait, not go to a Norce
    that has no such SKU and drops it: it is rejected as `unknown_reference` and sent once
    the product is accepted.
    """
    field, other = NORCE_NEEDS.get(derived.entity.name, {}).get(parent.entity.name, ("", ""))
    if not field or field in derived.references:
        return derived.references
    return {**derived.references, field: f"{parent.name}.{other}"}

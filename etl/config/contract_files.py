"""Reading the contracts of `schemas/` at start-up: every problem names the file and the key.

One contract is read by the shared TOML loader, then checked against its entity, its XML
paths and the stores in the settings; the whole folder is then checked for links between
feeds (etl.config.contract_links) and given its derived feeds.
"""

from __future__ import annotations

from pathlib import Path

from etl.config.contract_entity_checks import check_against_entity
from etl.config.contract_expect import check_expect
from etl.config.contract_links import check_links, implied_references
from etl.config.contract_xml_checks import check_xml_paths
from etl.config.contracts import FeedContract
from etl.config.run_order import needs_first
from etl.config.settings import Settings
from etl.config.toml import read_toml, validated
from etl.errors import ConfigError
from etl.state.areas import reserved_reason


def load_contract(path: Path, settings: Settings) -> FeedContract:
    """Read and check one contract file; any problem is a ConfigError naming file and key."""
    source = str(path)
    raw = read_toml(path, "contract")
    if isinstance(raw.get("feed", {}), dict):
        raw.setdefault("feed", {}).setdefault("name", path.stem)
    for computed in ("derived", "path"):
        if computed in raw:
            raise ConfigError(source, computed, "is not a contract key")
    contract = validated(FeedContract, {**raw, "path": path}, source)
    _check_name_is_free(contract, source)
    check_against_entity(contract, source)
    check_expect(contract.expect, contract.source.from_feed, source)
    if contract.format.type == "xml":
        check_xml_paths(contract, source)
    if contract.source.store not in settings.stores:
        known = ", ".join(sorted(settings.stores)) or "none"
        raise ConfigError(
            source, "source.store", f"no store {contract.source.store!r} (known: {known})"
        )
    return contract


def _check_name_is_free(contract: FeedContract, source: str) -> None:
    """A feed's name becomes its folders under home: one an area already uses is refused."""
    reason = reserved_reason(contract.name)
    if reason is not None:
        raise ConfigError(
            source,
            "feed.name",
            f"{contract.name!r} is reserved: {reason}; a feed of that name would mix its "
            "runs with them. Name the feed otherwise (feed.name, or the file's name)",
        )


def load_contracts(settings: Settings) -> dict[str, FeedContract]:
    """Every contract in the schemas folder, by feed name; duplicates are refused."""
    folder = settings.schemas_dir
    if not folder.is_dir():
        raise ConfigError(str(folder), "schemas_dir", "folder does not exist")
    contracts: dict[str, FeedContract] = {}
    for path in sorted(folder.glob("*.toml")):
        contract = load_contract(path, settings)
        if contract.name in contracts:
            raise ConfigError(
                str(path), "feed.name", f"{contract.name!r} is already used by another contract"
            )
        contracts[contract.name] = contract
    check_links(contracts)
    for name, contract in contracts.items():
        parent = contracts.get(contract.source.from_feed or "")
        if parent is not None and needs_first(contract, parent):
            references = implied_references(parent, contract)
            contracts[name] = contract.model_copy(update={"references": references})
    return {
        name: c.model_copy(
            update={"derived": tuple(d for d in contracts.values() if d.source.from_feed == name)}
        )
        for name, c in contracts.items()
    }

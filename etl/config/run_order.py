"""The order feeds run in: referenced feeds first, derived feeds around their parent.

A feed runs after the feeds it references and after those whose rows Norce must hold
first (a price after its product); a feed read through `from_feed` runs inside its
parent's run, before or after it.
"""

from __future__ import annotations

from etl.config.contracts import FeedContract
from etl.entities import DocumentEntity
from etl.errors import ConfigError

# What Norce must already hold before an entity's rows can be imported, and by which field
# a row names it: a price or an on-hand row names a SKU, a contact names its company.
NORCE_NEEDS: dict[str, dict[str, tuple[str, str]]] = {
    "price": {"product": ("part_no", "part_no")},
    "onhand": {"product": ("part_no", "part_no")},
    "customer": {"company": ("company_code", "code")},
}


def needs_first(contract: FeedContract, other: FeedContract) -> bool:
    """Must `contract` run after `other`: it references it, or Norce needs other's rows first."""
    referenced = {target.partition(".")[0] for target in contract.references.values()}
    return other.name in referenced or other.entity.name in NORCE_NEEDS.get(
        contract.entity.name, {}
    )


def family_order(parent: FeedContract) -> tuple[list[FeedContract], list[FeedContract]]:
    """The feeds reading `parent`'s files: (those run before it, those run after it).

    A derived feed goes after its parent when it needs the parent's rows in Norce (prices
    and stock read from the products file), else before (companies read from the customer
    file, which the contacts need first).
    """
    after = [d for d in parent.derived if needs_first(d, parent)]
    return [d for d in parent.derived if d not in after], after


def _needs(contracts: dict[str, FeedContract]) -> dict[str, set[str]]:
    """Feed that picks up files -> the feeds that pick up files it must run after.

    A feed read through `from_feed` runs inside its parent's run, so its references are its
    parent's, and a reference to it orders its parent. The ERP's numbers for web-born buyers
    go before the company and customer feeds: a number those feeds send first would make
    Norce insert the buyer a second time instead of numbering the record it has.
    """

    def runner(name: str) -> str:
        return contracts[name].source.from_feed or name

    needs: dict[str, set[str]] = {n: set() for n, c in contracts.items() if not c.source.from_feed}
    write_backs = [
        n for n, c in contracts.items()
        if isinstance(c.entity, DocumentEntity) and c.entity.via == "party_codes"
    ]  # fmt: skip
    for contract in contracts.values():
        firsts = [o.name for o in contracts.values() if needs_first(contract, o)]
        if contract.entity.name in ("company", "customer"):
            firsts += write_backs
        for first in map(runner, firsts):
            if first != runner(contract.name):
                needs[runner(contract.name)].add(first)
    return needs


def order_of_runs(contracts: dict[str, FeedContract]) -> list[FeedContract]:
    """The feeds that pick up files, each after the feeds it references (theirs first).

    ConfigError when references go round in a circle.
    """
    needs = _needs(contracts)
    ordered: list[str] = []
    while needs:
        ready = sorted(n for n, before in needs.items() if before <= set(ordered))
        if not ready:
            circle = ", ".join(sorted(needs))
            raise ConfigError("schemas", "references", f"feeds reference each other: {circle}")
        ordered += ready[:1]
        del needs[ready[0]]
    return [contracts[n] for n in ordered]


def runs_with(contract: FeedContract, contracts: dict[str, FeedContract]) -> list[FeedContract]:
    """The feeds `contract` references (directly or not), in order, then `contract` itself.

    A scheduled run of a feed runs them first, so a contact file is checked against the
    companies that arrived with it, whichever feed's schedule fires first.
    """
    needs = _needs(contracts)
    wanted, todo = set(), [contract.name]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += needs[name]
    return [c for c in order_of_runs(contracts) if c.name in wanted]

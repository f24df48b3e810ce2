"""Which feeds would read a file, and why: what `run.py check FILE` says before each check.

A feed that picks up files takes a name its `source.pattern` matches (fnmatch, case
sensitive, as etl.to_norce.intake lists a folder); the feeds that declare `source.from_feed` read
that feed's files too, before or after it in the order Norce needs (etl.config.run_order).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from etl.config.contracts import FeedContract
from etl.config.run_order import NORCE_NEEDS, family_order, needs_first, order_of_runs

FEED_HEADER = "# "  # starts each line of a feed's header, so a summary reads apart from it


@dataclass(frozen=True)
class Reader:
    """One feed that reads the file, and the sentence that says why."""

    contract: FeedContract
    why: str

    def header(self) -> list[str]:
        """The lines printed before this feed's check."""
        c = self.contract
        return [
            f"{FEED_HEADER}Feed {c.name} (entity {c.entity.name}), contract {c.path}",
            f"{FEED_HEADER}{self.why}",
        ]


def picks_up(contract: FeedContract, name: str) -> bool:
    """Would the feed's intake take a file of this name (its pattern, as etl.to_norce.intake matches)?"""
    return contract.source.from_feed is None and fnmatch.fnmatchcase(name, contract.source.pattern)


def pickup_feeds(contracts: dict[str, FeedContract], name: str) -> list[FeedContract]:
    """The feeds that pick up files and would take one of this name, in their order of runs."""
    return [c for c in order_of_runs(contracts) if picks_up(c, name)]


def where(contract: FeedContract) -> str:
    """`erp:products/products_*.csv`: the store, folder and pattern a feed picks up from."""
    source = contract.source
    return f"{source.store}:{source.folder}/{source.pattern}"


def readers(pickup: FeedContract, name: str) -> list[Reader]:
    """The feed that picks up the file and the feeds that read its files, in run order."""
    before, after = family_order(pickup)
    pattern = f"source.pattern {pickup.source.pattern!r}"
    if picks_up(pickup, name):
        own = f"Picks up this file: its name matches {pattern} ({where(pickup)})"
    else:
        own = f"Chosen with --feed: its {pattern} does not match this name, so a run would not pick it up"
    reads = f"Reads the files of feed {pickup.name} (source.from_feed)"
    return [
        *(Reader(d, f"{reads}; runs before it: {_before(d, pickup)}") for d in before),
        Reader(pickup, own),
        *(Reader(d, f"{reads}; runs after it: {_first(d, pickup)}") for d in after),
    ]


def _first(later: FeedContract, earlier: FeedContract) -> str:
    """Why `later` needs `earlier`'s rows in Norce first (etl.config.run_order.needs_first)."""
    named = NORCE_NEEDS.get(later.entity.name, {}).get(earlier.entity.name)
    if named is not None:
        return (
            f"{_a(later.entity.name)} row names its {earlier.entity.name} ({named[0]}), "
            f"so Norce needs the rows of feed {earlier.name} first"
        )
    return f"its [references] name feed {earlier.name}, so Norce needs those rows first"


def _a(noun: str) -> str:
    """The noun with its indefinite article: "a price", "an onhand"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _before(derived: FeedContract, pickup: FeedContract) -> str:
    """Why a derived feed goes first: the feed it reads for needs its rows, or it needs none."""
    if needs_first(pickup, derived):
        return _first(pickup, derived)
    return f"it needs none of the rows of feed {pickup.name} in Norce"


def several_warning(pickups: list[FeedContract], name: str) -> str:
    """The warning when more than one feed's pattern takes this name."""
    names = ", ".join(p.name for p in pickups)
    folders = {(p.source.store, p.source.folder) for p in pickups}
    text = f"Warning: {len(pickups)} feeds pick up files named {name!r} ({names}): "
    if len(folders) == 1:
        return text + "a run would give the file to each of them; narrow their source.pattern"
    places = ", ".join(f"{p.name}: {where(p)}" for p in pickups)
    return text + (
        "a run would give it to each of them that finds it in its folder "
        f"({places}); narrow their source.pattern"
    )


def no_feed_message(contracts: dict[str, FeedContract], name: str) -> list[str]:
    """Why `check FILE` checked nothing: every pickup feed's pattern, and the way on."""
    pickups = order_of_runs(contracts)
    width = max((len(c.name) for c in pickups), default=0)
    return [
        f"no feed picks up a file named {name!r}; the feeds that pick up files take:",
        *(f"  {c.name:<{width}}  {where(c)}" for c in pickups),
        "Rename the file as its feed expects, or pass --feed NAME to check it against one.",
    ]

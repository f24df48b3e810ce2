"""Feed contracts: one TOML file per ERP export in `schemas/`, as a pydantic model.

A contract says which entity a feed carries, where its files are picked up and when they
count as complete, how they are written ([format], etl.config.contract_format), how ERP
columns map to the entity's canonical fields and what is checked of them ([checks] and the
other per-field tables, etl.config.contract_fields), the deletion-guard thresholds and the
schedule. Adding an ERP export is a new contract, not new Python. Contract files are read
and checked at start-up by etl.config.contract_files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from etl.config.contract_expect import ExpectSpec
from etl.config.contract_fields import ChecksSpec, DeriveSpec, RoundingSpec, ValueMap
from etl.config.contract_format import FormatSpec
from etl.config.schedule import ScheduleSpec
from etl.config.toml import Strict
from etl.entities import ENTITIES, Entity


class FeedSpec(Strict):
    """What the feed is."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    entity: str
    description: str = ""
    # full: the file is the whole current state, so a missing row is a removal.
    # delta: the file carries only changed rows; nothing is ever removed by absence.
    export: Literal["full", "delta"] = "full"


class SourceSpec(Strict):
    """Where files are picked up, when they are complete, what happens after commit."""

    store: str = "erp"
    # Another feed's files: this contract reads the very file that feed picks up, as another
    # entity (a flat export with company and contact columns in one row). It runs just before
    # that feed on each of its files and never picks up, moves or deletes a file itself.
    from_feed: str | None = None
    folder: str = "."
    pattern: str = "*"
    # done_marker: ready when the marker file exists; temp_name: ready unless named as a
    # temp file (always ignored anyway); stable: size and mtime unchanged across two looks.
    ready: Literal["done_marker", "temp_name", "stable"] = "stable"
    done_marker: str = "{name}.done"
    # Must exceed the writer's longest pause (an ERP flushing, an SMB/NFS share syncing); 60 s
    # is the settling age common file pollers default to (Spring Integration's last-modified
    # filter). A file that still changes after its download is thrown away in any case.
    stable_seconds: float = Field(default=60.0, ge=0)
    min_age_seconds: float = Field(default=0.0, ge=0)
    temp_suffixes: tuple[str, ...] = (".part", ".tmp", ".filepart")
    after_commit: Literal["move", "leave"] = "move"
    processed_folder: str = "processed"
    rejected_folder: str = "rejected"
    max_files: int = Field(default=20, ge=1)
    empty_file: Literal["reject", "no_rows"] = "reject"
    # any: content committed before is never processed again; latest: only the content
    # the current snapshot came from is skipped (files that legitimately repeat).
    dedupe: Literal["any", "latest"] = "any"


class GuardSpec(Strict):
    """Removals are held when they exceed BOTH thresholds, or when the file has no rows."""

    max_removals: int = Field(default=10, ge=0)
    max_removal_ratio: float = Field(default=0.10, ge=0, le=1)
    # A rejected row with no readable key (an empty SKU) may be any row that left the file:
    # hold the run's removals until a person looks. False for an ERP that sends such rows
    # every night, accepting that one of them may be a row deactivated in Norce.
    hold_on_unreadable_key: bool = True


class ArchiveSpec(Strict):
    """How long the feed's run folders keep their files (`run.py purge`).

    Past `retention_days` a run folder keeps only its manifest.json, which then records the
    name, size and SHA-256 of every file removed. None: kept forever. Feeds that carry people
    (customers, contacts) should set it: the input and the reports hold their personal data.
    """

    retention_days: int | None = Field(default=None, ge=1)


class FeedContract(Strict):
    """One ERP export, fully described."""

    feed: FeedSpec
    source: SourceSpec = SourceSpec()
    format: FormatSpec
    # ERP column (or XML path) -> canonical field, or fields: one column may feed several
    # (Magento's sku is also the manufacturer's number).
    columns: dict[str, str | tuple[str, ...]]
    defaults: dict[str, str] = Field(default_factory=dict)  # canonical field -> constant
    key: tuple[str, ...] | None = None  # default: the entity's key
    guard: GuardSpec = GuardSpec()
    checks: ChecksSpec = ChecksSpec()
    # field -> how its values with more decimals than it keeps are rounded (else refused).
    rounding: dict[str, RoundingSpec] = Field(default_factory=dict)
    # field -> its ERP values mapped to canonical ones ("United States" -> "US").
    values: dict[str, ValueMap] = Field(default_factory=dict)
    # field -> read from a column by a regular expression (the currency in "All Websites [USD]").
    derive: dict[str, DeriveSpec] = Field(default_factory=dict)
    schedule: ScheduleSpec = ScheduleSpec(interval_minutes=15)
    # When the ERP's file is due; none came by then: `missing` (etl.config.contract_expect).
    expect: ExpectSpec | None = None
    archive: ArchiveSpec = ArchiveSpec()
    options: dict[str, Any] = Field(default_factory=dict)  # entity options, see each entity
    # Fields the ERP only seeds: sent when Norce creates the record, then left to people
    # (written before any [table], like `key`).
    create_only: tuple[str, ...] = ()
    # field -> "feed.field": a value must be one the other feed holds (active), or empty.
    # That feed runs first in a pass; a row naming an unknown one is rejected.
    references: dict[str, str] = Field(default_factory=dict)
    path: Path = Path("-")
    # Set by load_contracts, never by a contract file: the feeds that read this feed's files.
    derived: tuple[FeedContract, ...] = ()

    @property
    def name(self) -> str:
        """The feed's name."""
        return self.feed.name

    @property
    def entity(self) -> Entity:
        """The canonical entity this feed carries."""
        return ENTITIES[self.feed.entity]

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The key the diff matches rows on."""
        return self.key or self.entity.key

    def column_fields(self) -> list[tuple[str, str]]:
        """(ERP column, canonical field) for each field [columns] maps, a column once per field."""
        return [
            (erp, field)
            for erp, fields in self.columns.items()
            for field in ((fields,) if isinstance(fields, str) else fields)
        ]

    def field_sources(self) -> dict[str, str]:
        """Canonical field -> the ERP column it is read from: mapped in [columns] or [derive]."""
        derived = {field: spec.column for field, spec in self.derive.items()}
        return {field: erp for erp, field in self.column_fields()} | derived

    def read_columns(self) -> list[str]:
        """The ERP columns (XML paths) the feed reads: those of [columns], then of [derive]."""
        derived = [d.column for d in self.derive.values() if d.column not in self.columns]
        return [*self.columns, *dict.fromkeys(derived)]

    def carried_fields(self) -> frozenset[str]:
        """The canonical fields the feed sets: mapped in [columns], [derive] or [defaults]."""
        return frozenset(self.field_sources()) | frozenset(self.defaults)

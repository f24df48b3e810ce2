"""Feed contracts: one TOML file per ERP export in `schemas/`, checked at start-up.

A contract says which entity a feed carries, where its files are picked up and when they
count as complete, how they are written (format and dialect), how ERP columns map to the
entity's canonical fields, the deletion-guard thresholds and the schedule. Adding an ERP
export is a new contract, not new Python. Every problem names the file and the key.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from etl.entities import ENTITIES, Entity
from etl.errors import ConfigError
from etl.settings import Settings, Strict, config_error


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
    folder: str = "."
    pattern: str = "*"
    # done_marker: ready when the marker file exists; temp_name: ready unless named as a
    # temp file (always ignored anyway); stable: size and mtime unchanged across two looks.
    ready: Literal["done_marker", "temp_name", "stable"] = "stable"
    done_marker: str = "{name}.done"
    stable_seconds: float = Field(default=5.0, ge=0)
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


class FormatSpec(Strict):
    """How the file is written: format and dialect."""

    type: Literal["csv", "xml", "xlsx"]
    # A codec name, or "auto": a BOM (UTF-8, UTF-16 LE/BE) decides, else fallback_encoding.
    encoding: str = "utf-8"
    fallback_encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."
    thousands: Literal["", " ", ".", ",", "'"] = ""
    date_format: str = "%Y-%m-%d"
    null_values: tuple[str, ...] = ("",)
    header_row: int = Field(
        default=1, ge=1
    )  # CSV/XLSX: line (row) of the header; above it is skipped
    sheet: str | int = 0  # XLSX: sheet name, or 0-based index
    # Compressed inputs (.gz, .zip) are opened by their name; refuse more than this expanded.
    max_expanded_bytes: int = Field(default=4 * 1024**3, ge=1)
    max_line_bytes: int = Field(default=10 * 1024**2, ge=1024)  # CSV: a longer line is hostile
    # XML: path of the repeating record element from the root, e.g. "Stock/Item"
    record: str | None = Field(default=None, validate_default=True)
    namespaces: dict[str, str] = Field(default_factory=dict)

    @field_validator("encoding", "fallback_encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        if value == "auto":
            return value
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc
        return value

    @field_validator("encoding", "fallback_encoding")
    @classmethod
    def _auto_only_where_it_decides(cls, value: str, info: ValidationInfo) -> str:
        if value != "auto":
            return value
        if info.field_name == "fallback_encoding":
            raise ValueError(
                'cannot be "auto": it is what "auto" reads when there is no byte-order mark; '
                'name a codec, e.g. "cp1252"'
            )
        if info.data.get("type") == "xml":
            raise ValueError("an XML file declares its own encoding: leave `encoding` out")
        return value

    @field_validator("header_row")
    @classmethod
    def _header_row_for_xlsx(cls, value: int, info: ValidationInfo) -> int:
        # CSV title lines above the header are not supported yet: refuse rather than ignore.
        if value != 1 and info.data.get("type") != "xlsx":
            raise ValueError(
                "header_row other than 1 is supported for xlsx only, not yet for csv or xml"
            )
        return value

    @field_validator("thousands")
    @classmethod
    def _separators_differ(cls, value: str, info: ValidationInfo) -> str:
        if value and value == info.data.get("decimal"):
            raise ValueError("decimal and thousands separators must differ")
        return value

    @field_validator("record")
    @classmethod
    def _xml_needs_record(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("type") == "xml" and not value:
            raise ValueError("xml feeds need `record`, the path of the repeating element")
        return value


class FieldChecks(Strict):
    """Extra checks on one canonical field, on top of the entity's own rules."""

    required: bool = False
    pattern: str | None = None  # a regular expression the whole value must match
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    allowed: tuple[str, ...] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class ChecksSpec(Strict):
    """Contract-level validation: extra field checks and the suspect-file threshold."""

    # More than this share of rows rejected: the whole file is refused as suspect
    # instead of being half applied (None: no limit).
    max_rejected_ratio: float | None = Field(default=None, ge=0, le=1)
    fields: dict[str, FieldChecks] = Field(default_factory=dict)


class GuardSpec(Strict):
    """Removals are held when they exceed BOTH thresholds, or when the file has no rows."""

    max_removals: int = Field(default=10, ge=0)
    max_removal_ratio: float = Field(default=0.10, ge=0, le=1)


class ScheduleSpec(Strict):
    """When the scheduler runs the feed: a crontab line or an interval."""

    cron: str | None = None
    interval_minutes: float | None = Field(default=None, gt=0)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"bad crontab {value!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleSpec:
        if (self.cron is None) == (self.interval_minutes is None):
            raise ValueError("set exactly one of `cron` or `interval_minutes`")
        return self


class FeedContract(Strict):
    """One ERP export, fully described."""

    feed: FeedSpec
    source: SourceSpec = SourceSpec()
    format: FormatSpec
    columns: dict[str, str]  # ERP column (or XML path) -> canonical field
    defaults: dict[str, str] = Field(default_factory=dict)  # canonical field -> constant
    key: tuple[str, ...] | None = None  # default: the entity's key
    guard: GuardSpec = GuardSpec()
    checks: ChecksSpec = ChecksSpec()
    schedule: ScheduleSpec = ScheduleSpec(interval_minutes=15)
    options: dict[str, Any] = Field(default_factory=dict)  # entity options, see each entity
    path: Path = Path("-")

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

    def field_sources(self) -> dict[str, str]:
        """Canonical field -> ERP column, the inverse of `columns`."""
        return {field: erp for erp, field in self.columns.items()}


def load_contract(path: Path, settings: Settings) -> FeedContract:
    """Read and check one contract file; any problem is a ConfigError naming file and key."""
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(source, "-", f"cannot read contract: {exc}") from exc
    if isinstance(raw.get("feed", {}), dict):
        raw.setdefault("feed", {}).setdefault("name", path.stem)
    try:
        contract = FeedContract.model_validate({**raw, "path": path})
    except ValidationError as exc:
        raise config_error(source, exc) from exc
    _check_against_entity(contract, source)
    if contract.format.type == "xml":
        _check_xml_paths(contract, source)
    if contract.source.store not in settings.stores:
        known = ", ".join(sorted(settings.stores)) or "none"
        raise ConfigError(
            source, "source.store", f"no store {contract.source.store!r} (known: {known})"
        )
    return contract


def _check_against_entity(contract: FeedContract, source: str) -> None:
    """Mapping, defaults, key and options must fit the entity."""
    if contract.feed.entity not in ENTITIES:
        known = ", ".join(sorted(ENTITIES))
        raise ConfigError(
            source, "feed.entity", f"unknown entity {contract.feed.entity!r} (known: {known})"
        )
    entity = contract.entity
    fields = set(entity.fields())
    mapped = list(contract.columns.values())
    for erp, field in contract.columns.items():
        if field not in fields:
            raise ConfigError(
                source, f"columns.{erp}", f"{field!r} is not a field of {entity.name}"
            )
    if len(set(mapped)) != len(mapped):
        twice = sorted({f for f in mapped if mapped.count(f) > 1})
        raise ConfigError(source, "columns", f"fields mapped twice: {', '.join(twice)}")
    for field in contract.checks.fields:
        if field not in fields:
            raise ConfigError(source, f"checks.fields.{field}", f"not a field of {entity.name}")
    for field in contract.defaults:
        if field not in fields:
            raise ConfigError(source, f"defaults.{field}", f"not a field of {entity.name}")
    for field in entity.required_fields():
        if field not in mapped and field not in contract.defaults:
            raise ConfigError(source, "columns", f"required field {field!r} is not mapped")
    key = contract.key_fields
    if not set(entity.key).issubset(key) or not set(key).issubset(fields):
        raise ConfigError(
            source, "key", f"must contain {list(entity.key)} and only fields of {entity.name}"
        )
    try:
        entity.parse_options(contract.options)
    except ValidationError as exc:
        raise config_error(source, exc, "options.") from exc


_XML_NAME = r"[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?"
_XML_FIELD = re.compile(rf"^(?:{_XML_NAME}/)*(?:{_XML_NAME}|@{_XML_NAME})$")
_XML_RECORD = re.compile(rf"^/?{_XML_NAME}(?:/{_XML_NAME})*$")


def _check_xml_paths(contract: FeedContract, source: str) -> None:
    """Record and column paths are plain element steps (and an attribute), prefixes declared."""
    namespaces = contract.format.namespaces
    paths = [("format.record", contract.format.record or "", _XML_RECORD)]
    paths += [(f"columns.{p}", p, _XML_FIELD) for p in contract.columns]
    for key, path, shape in paths:
        if not shape.match(path):
            raise ConfigError(
                source, key, f"{path!r} is not a usable path: use Name, A/B, @attr or A/@attr"
            )
        for name in re.split(r"[/@]", path):
            prefix = name.split(":", 1)[0] if ":" in name else None
            if prefix is not None and prefix not in namespaces:
                raise ConfigError(
                    source, key, f"namespace prefix {prefix!r} is not in [format.namespaces]"
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
    return contracts

"""Feed contracts: one TOML file per ERP export in `schemas/`, checked at start-up.

A contract says which entity a feed carries, where its files are picked up and when they
count as complete, how they are written (format and dialect), how ERP columns map to the
entity's canonical fields, the deletion-guard thresholds and the schedule. Adding an ERP
export is a new contract, not new Python. Every problem names the file and the key.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from xml.parsers import expat

import polars as pl
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from etl.config import rust_regex
from etl.config.settings import Settings, Strict, config_error
from etl.config.xml_paths import NAME, parse_field
from etl.dates import ambiguity, format_problem, zone_problem
from etl.entities import ENTITIES, DocumentEntity, Entity
from etl.entities.checks import relaxed
from etl.errors import ConfigError
from etl.models import IS_ACTIVE


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


# A regular expression, checked when the contract loads rather than on the first file.
Regex = Annotated[str, AfterValidator(_compiles)]


def _runs_in_polars(value: str) -> str:
    said = rust_regex.problem(value)
    if said is not None:
        raise ValueError(f"not a regular expression polars can run (Rust regex syntax): {said}")
    return value


# A pattern applied to cells: polars runs it (linear time: a hostile cell cannot hang a run),
# so it is checked in polars' syntax, which has no look-around and no backreferences.
CellRegex = Annotated[str, AfterValidator(_runs_in_polars)]


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


class TrailerSpec(Strict):
    """Lines at the end of a CSV file (rows of an XLSX sheet) that are not data.

    The trailer proves the file is complete: without it, or when its record count or
    control sum disagrees with the rows, the file is rejected as truncated.
    """

    # Exactly one: a fixed number of last non-blank lines, or a regular expression matched
    # at the start of a line: the first match begins the trailer, it and the rest are not data.
    lines: int | None = Field(default=None, ge=1, le=100)
    pattern: Regex | None = None
    required: bool = True  # no trailer found: rejected as truncated
    count_field: int | None = Field(default=None, ge=1)  # 1-based field: the number of records
    sum_field: int | None = Field(default=None, ge=1)  # 1-based field: the control sum ...
    sum_of: str | None = None  # ... of this ERP column over every data row

    @model_validator(mode="after")
    def _complete(self) -> TrailerSpec:
        if (self.lines is None) == (self.pattern is None):
            raise ValueError("set exactly one of `lines` or `pattern`")
        if (self.sum_field is None) != (self.sum_of is None):
            raise ValueError("`sum_field` and `sum_of` go together: the field and the column")
        return self


# A date key's value: one strftime format, or several tried in order (see FormatSpec).
DateFormats = str | tuple[str, ...]


class FormatSpec(Strict):
    """How the file is written: format and dialect."""

    type: Literal["csv", "xml", "xlsx"]
    # A codec name, or "auto": a BOM (UTF-8, UTF-16 LE/BE) decides, else fallback_encoding.
    encoding: str = "utf-8"
    fallback_encoding: str = "utf-8"
    # CSV: one character, or "auto": chosen among , ; tab | from the header and the next lines.
    delimiter: str = ","
    quote: str = Field(default='"', min_length=1, max_length=1)
    # CSV: the character some ERPs put before a quote or delimiter inside a cell (\" and \;)
    # instead of doubling the quote; unset, quotes are doubled as in RFC 4180.
    escape: str | None = Field(default=None, min_length=1, max_length=1)
    # CSV: a data row with more fields than the header whose extra ones are all empty (a
    # trailing delimiter, as WooCommerce and PrestaShop write): "reject" refuses the file at
    # that line, "ignore" takes the row without them. A non-empty extra field is refused always.
    extra_empty_fields: Literal["reject", "ignore"] = "reject"
    decimal: Literal[".", ","] = "."
    # " " also reads the no-break spaces (U+00A0, U+202F) Swedish and French Excel write;
    # naming one of those accepts only that one.
    thousands: Literal["", " ", ".", ",", "'", "\u00a0", "\u202f"] = ""
    # Each date key takes one strftime format or a list tried in order, the first that reads
    # a cell winning: WooCommerce writes `2017-01-01` and `2030-01-01 0:00:00` in one column.
    date_format: DateFormats = "%Y-%m-%d"
    # Date-times: wall-clock times in `time_zone` unless the format reads an offset (%z).
    datetime_format: DateFormats = "%Y-%m-%dT%H:%M:%S"
    time_zone: str = "UTC"  # IANA name: the zone the ERP writes its local times in
    field_formats: dict[str, DateFormats] = Field(default_factory=dict)  # field -> its own
    null_values: tuple[str, ...] = ("",)
    header_row: int = Field(default=1, ge=1)  # CSV/XLSX: line (row) of the header; above: skipped
    skip_after_header: int = Field(default=0, ge=0)  # CSV/XLSX: rows under the header, not data
    trailer: TrailerSpec | None = None  # CSV/XLSX: closing lines with a record count, a sum
    sheet: str | int = 0  # XLSX: sheet name, or 0-based index
    # Compressed inputs (.gz, .zip) are opened by their name; refuse more than this expanded.
    max_expanded_bytes: int = Field(default=4 * 1024**3, ge=1)
    max_line_bytes: int = Field(default=10 * 1024**2, ge=1024)  # CSV: a longer line is hostile
    # Shapes that cost memory out of proportion to the file's size (a broken export job
    # writes them): refused before the reader allocates for them. See etl/read/formats.
    # XML reads them as distinct names, any text node or tag, and rows (2M unless set), see
    # etl/read/formats/xml_bounds.py.
    max_columns: int = Field(default=1000, ge=1)  # CSV header fields; XLSX: last used column
    max_cell_bytes: int = Field(default=256 * 1024, ge=1024)  # one cell's text, as written
    max_rows: int = Field(default=20_000_000, ge=1)  # CSV: lines after the header; XLSX: rows
    max_blank_lines: int = Field(default=10_000, ge=0)  # CSV: empty lines outside quoted cells
    # XML: path of the repeating record element from the root, e.g. "Stock/Item"
    record: str | None = Field(default=None, validate_default=True)
    namespaces: dict[str, str] = Field(default_factory=dict)
    # XML: an element below the record that repeats in it, e.g. "Prices/Price": one row
    # per occurrence. A record with none gives one row with the repeated fields empty
    # ("row": reported when required, and its old rows are kept), or no row ("skip").
    repeat: str | None = None
    repeat_empty: Literal["row", "skip"] = "row"
    # XML: "external_dtd" takes a DOCTYPE that only names an external DTD (every BMEcat file
    # starts with one); the DTD is never fetched or read (etl/read/formats/xml_doctype.py).
    # Internal subsets, entity declarations and entity references are refused either way.
    doctype: Literal["refuse", "external_dtd"] = "refuse"

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

    @field_validator("encoding")
    @classmethod
    def _xml_reader_can_use(cls, value: str, info: ValidationInfo) -> str:
        # expat decodes UTF-8, UTF-16 and single-byte code pages only; finding out on the
        # first file would reject every file of the feed.
        if info.data.get("type") != "xml" or value == "auto":
            return value
        try:
            expat.ParserCreate(encoding=value).Parse("<a/>".encode(value), True)
        except (ValueError, expat.ExpatError, UnicodeError) as exc:
            raise ValueError(
                f"the XML reader cannot read {value!r} ({exc}): name UTF-8, UTF-16 or a "
                "single-byte code page such as cp1252 or iso-8859-15, or leave `encoding` out "
                "to let each file's XML declaration decide"
            ) from exc
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character_or_auto(cls, value: str, info: ValidationInfo) -> str:
        if value == "auto":
            if info.data.get("type") != "csv":
                raise ValueError('"auto" is for csv feeds only')
            return value
        if len(value) != 1 or value in "\r\n":
            raise ValueError('one character (e.g. ";" or "\\t"), or "auto"')
        return value

    @field_validator("escape")
    @classmethod
    def _escape_for_csv(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("type") != "csv":
            raise ValueError("escape is for csv feeds only")
        if value in (info.data.get("quote"), info.data.get("delimiter")):
            raise ValueError("the escape character must differ from the quote and the delimiter")
        return value

    @field_validator("header_row", "skip_after_header", "trailer")
    @classmethod
    def _rows_for_csv_and_xlsx(cls, value: object, info: ValidationInfo) -> object:
        # An XML record is found by its path, not its position: refuse rather than ignore.
        default = FormatSpec.model_fields[info.field_name or ""].default
        if value != default and info.data.get("type") == "xml":
            raise ValueError(f"{info.field_name} is for csv and xlsx feeds, not xml")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        problem = zone_problem(value)
        if problem:
            raise ValueError(problem)
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

    @field_validator("repeat")
    @classmethod
    def _repeat_for_xml(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("type") != "xml":
            raise ValueError("repeat is for xml feeds only")
        return value

    @field_validator("repeat_empty")
    @classmethod
    def _repeat_empty_needs_repeat(cls, value: str, info: ValidationInfo) -> str:
        # Only runs when the key is written: a setting that would do nothing is a mistake.
        if info.data.get("repeat") is None:
            raise ValueError("repeat_empty needs `repeat`, the repeating element it is about")
        return value

    @field_validator("doctype")
    @classmethod
    def _doctype_for_xml(cls, value: str, info: ValidationInfo) -> str:
        # Only runs when the key is written: on a csv or xlsx feed it would do nothing.
        if info.data.get("type") != "xml":
            raise ValueError("doctype is for xml feeds only")
        return value

    def time_formats(self, field: str, dtype: pl.DataType) -> tuple[str, ...]:
        """The strftime formats a Date or Datetime field is read with, in the order tried."""
        if field in self.field_formats:
            return formats_of(self.field_formats[field])
        return formats_of(
            self.datetime_format if isinstance(dtype, pl.Datetime) else self.date_format
        )


def formats_of(value: DateFormats) -> tuple[str, ...]:
    """A date key's value as the formats it lists (one string is a list of one)."""
    return (value,) if isinstance(value, str) else value


class FieldChecks(Strict):
    """Extra checks on one canonical field, on top of the entity's own rules."""

    required: bool = False
    pattern: CellRegex | None = None  # a regular expression the whole value must match
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    allowed: tuple[str, ...] | None = None
    # A code field's own rule: "strict" (letters, digits, . _ / -, no spaces: safe anywhere)
    # or "norce" (any printable text Norce takes: Magento SKUs "MH01 XS Black", customer
    # group "ALL GROUPS"). Per field, next to its other checks, rather than a list under
    # [checks]: one table says all that is checked of a field, and its key names the field.
    code: Literal["strict", "norce"] = "strict"

    @model_validator(mode="before")
    @classmethod
    def _no_contract_keys(cls, data: Any) -> Any:
        # A key of the whole [checks] table written under a field's table would only be
        # "Extra inputs are not permitted", which does not say where it goes.
        given = set(data) if isinstance(data, dict) else set()
        misplaced = sorted((set(ChecksSpec.model_fields) - {"fields"}) & given)
        if misplaced:
            raise PydanticCustomError(
                "misplaced_key",
                "{key} belongs in [checks], not in a field's [checks.fields.<field>] table: "
                "it applies to the whole file",
                {"key": misplaced[0]},
            )
        return data


class RoundingSpec(Strict):
    """How one decimal field's longer values are rounded when read ([rounding])."""

    places: int = Field(ge=0)  # decimals kept; at most what the field keeps
    # Declared, never assumed: half_even (banker's) and half_up (ties away from zero) differ.
    mode: Literal["half_even", "half_up"]


class ValuePattern(Strict):
    """One pattern of a value map: a value it matches becomes `to` (\\1 is the first group)."""

    match: CellRegex
    to: str = Field(min_length=1)

    @model_validator(mode="after")
    def _groups_exist(self) -> ValuePattern:
        # polars would put nothing for a group `match` lacks: refused here, not on a file.
        rust_regex.replacement(self.to, self.match)
        return self


class ValueMap(Strict):
    """ERP values -> canonical ones for one field ([values.<field>]).

    The entries sit under `map`, apart from the options, so a value the ERP writes can never
    be read as an option, and a misspelt option is refused instead of mapping a value.
    """

    map: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    patterns: tuple[ValuePattern, ...] = ()  # tried in order, after the exact entries
    # keep: a value neither names passes through and the field's checks decide;
    # reject: its row is rejected as `unmapped_value` (a new value the map must learn).
    unmapped: Literal["keep", "reject"] = "keep"
    ignore_case: bool = False  # exact entries and patterns match in any case


class DeriveSpec(Strict):
    """A field read from a column by a regular expression ([derive.<field>])."""

    column: str  # the ERP column (or XML path) read
    pattern: CellRegex  # searched in the cell: its group, or the whole match, is the field

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, pattern: str) -> str:
        # With two groups either could be meant ('[(USD)]|((USD))'): one, so none is guessed.
        if len(rust_regex.groups(pattern)) > 1:
            raise ValueError(
                "more than one capturing group: keep the field's, use (?:...) for the others"
            )
        return pattern


class ChecksSpec(Strict):
    """Contract-level validation: extra field checks and the suspect-file threshold."""

    # More than this share of rows rejected: the whole file is refused as suspect
    # instead of being half applied (None: no limit).
    max_rejected_ratio: float | None = Field(default=None, ge=0, le=1)
    fields: dict[str, FieldChecks] = Field(default_factory=dict)
    # Rows with the same key: all rejected (`reject`), or, where they agree on every field,
    # taken once (`merge_identical`: a company repeated on each of its contacts' rows).
    same_key_rows: Literal["reject", "merge_identical"] = "reject"


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


def load_contract(path: Path, settings: Settings) -> FeedContract:
    """Read and check one contract file; any problem is a ConfigError naming file and key."""
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(source, "-", f"cannot read contract: {exc}") from exc
    if isinstance(raw.get("feed", {}), dict):
        raw.setdefault("feed", {}).setdefault("name", path.stem)
    for computed in ("derived", "path"):
        if computed in raw:
            raise ConfigError(source, computed, "is not a contract key")
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
    for erp, listed in contract.columns.items():
        if not listed:
            raise ConfigError(source, f"columns.{erp}", "name at least one field")
    mapped = [field for _, field in contract.column_fields()]
    for erp, field in contract.column_fields():
        if field not in fields:
            raise ConfigError(
                source, f"columns.{erp}", f"{field!r} is not a field of {entity.name}"
            )
    if len(set(mapped)) != len(mapped):
        twice = sorted({f for f in mapped if mapped.count(f) > 1})
        raise ConfigError(source, "columns", f"fields mapped twice: {', '.join(twice)}")
    _check_derive(contract, source)
    mapped += list(contract.derive)
    for field, extra in contract.checks.fields.items():
        if field not in fields:
            raise ConfigError(source, f"checks.fields.{field}", f"not a field of {entity.name}")
        # Written out, "strict" too names a rule the field must have: said of a currency, it
        # would check nothing while the contract reads as if it did.
        if (
            "code" in extra.model_fields_set
            and relaxed(entity.schema.columns[field].checks) is None
        ):
            coded = [f for f, c in entity.schema.columns.items() if relaxed(c.checks) is not None]
            what = " to relax" if extra.code == "norce" else ', so code = "strict" checks nothing'
            raise ConfigError(
                source,
                f"checks.fields.{field}.code",
                f"{field} has no code rule{what} (those with one: {', '.join(coded)})",
            )
    for field in contract.defaults:
        if field not in fields:
            raise ConfigError(source, f"defaults.{field}", f"not a field of {entity.name}")
    _check_active_flag(contract, source)
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
    _check_create_only(contract, source)
    _check_field_formats(contract, source)
    _check_rounding(contract, source)
    _check_values(contract, source)


def _check_active_flag(contract: FeedContract, source: str) -> None:
    """The ERP's active flag is read from each row: never a default, never part of the key."""
    if IS_ACTIVE in contract.defaults:
        # A default fills every empty cell (every row, without the column): "false" would
        # switch off rows the ERP said nothing about, "true" would only restate the rule.
        raise ConfigError(
            source,
            f"defaults.{IS_ACTIVE}",
            "the active flag cannot have a default: an empty cell says nothing and the row is "
            "active; map the ERP's own spellings with [values.is_active] instead",
        )
    if IS_ACTIVE in contract.key_fields:
        # The flag says which state a record is in, not which record: in the key, one record
        # would have two keys, and marking it inactive would send an add and a removal.
        raise ConfigError(
            source, "key", "is_active cannot be part of the key: it is a row's state, not its name"
        )


def _check_derive(contract: FeedContract, source: str) -> None:
    """[derive] names fields of the entity that [columns] does not map."""
    mapped = {field: erp for erp, field in contract.column_fields()}
    for field in contract.derive:
        key = f"derive.{field}"
        if field not in contract.entity.fields():
            raise ConfigError(source, key, f"not a field of {contract.entity.name}")
        if field in mapped:
            raise ConfigError(
                source, key, f"also mapped from column {mapped[field]!r} in [columns]: keep one"
            )


def _check_values(contract: FeedContract, source: str) -> None:
    """[values] maps fields read from the file; with ignore_case, no two entries collide."""
    fields, read = contract.entity.fields(), contract.field_sources()
    for field, spec in contract.values.items():
        key = f"values.{field}"
        if field not in fields:
            raise ConfigError(source, key, f"not a field of {contract.entity.name}")
        if field not in read:
            raise ConfigError(
                source, key, f"{field!r} is not read from the file: map it in [columns] or [derive]"
            )
        folded: dict[str, str] = {}
        for erp in spec.map if spec.ignore_case else ():
            other = folded.setdefault(erp.casefold(), erp)
            if other != erp and spec.map[other] != spec.map[erp]:
                raise ConfigError(
                    source,
                    f"{key}.map",
                    f"{other!r} and {erp!r} are the same when case is ignored, "
                    "but map to different values",
                )


def _check_rounding(contract: FeedContract, source: str) -> None:
    """[rounding] names decimal fields, each rounded to no more places than it keeps."""
    fields = contract.entity.fields()
    decimals = [f for f, t in fields.items() if isinstance(t, pl.Decimal)]
    for field, spec in contract.rounding.items():
        dtype = fields.get(field)
        if not isinstance(dtype, pl.Decimal):
            raise ConfigError(
                source,
                f"rounding.{field}",
                f"not a decimal field of {contract.entity.name} "
                f"(those are: {', '.join(decimals) or 'none'})",
            )
        if spec.places > (dtype.scale or 0):
            raise ConfigError(
                source, f"rounding.{field}.places", f"{field} keeps at most {dtype.scale} decimals"
            )


def _check_create_only(contract: FeedContract, source: str) -> None:
    """`create_only` names carried fields, once each, that Norce has a CreateOnly number for."""
    entity, seen = contract.entity, set[str]()
    can = ", ".join(sorted(entity.seedable)) or f"no field of {entity.name}"
    for field in contract.create_only:
        if field not in entity.fields():
            problem = f"{field!r} is not a field of {entity.name}"
        elif field not in entity.seedable:
            problem = f"Norce has no create-only number for {field!r} (it has one for: {can})"
        elif field not in contract.carried_fields():
            problem = f"{field!r} is neither mapped nor defaulted: there is nothing to seed"
        elif field in seen:
            problem = f"{field!r} is listed twice"
        else:
            seen.add(field)
            continue
        raise ConfigError(source, "create_only", problem)


def _check_field_formats(contract: FeedContract, source: str) -> None:
    """Every date format reads dates; [format.field_formats] names Date or Datetime fields."""
    fmt = contract.format
    _check_formats(fmt.date_format, False, source, "format.date_format")
    _check_formats(fmt.datetime_format, True, source, "format.datetime_format")
    fields = contract.entity.fields()
    for field, formats in contract.format.field_formats.items():
        key = f"format.field_formats.{field}"
        dtype = fields.get(field)
        if dtype is None or not (dtype == pl.Date or isinstance(dtype, pl.Datetime)):
            dated = [f for f, t in fields.items() if t == pl.Date or isinstance(t, pl.Datetime)]
            raise ConfigError(
                source,
                key,
                f"not a date or date-time field of {contract.entity.name} "
                f"(those are: {', '.join(dated) or 'none'})",
            )
        _check_formats(formats, isinstance(dtype, pl.Datetime), source, key)


def _check_formats(value: DateFormats, with_time: bool, source: str, key: str) -> None:
    """One format, or a non-empty list of them, each reading a whole date (a list's by index)."""
    if not value:
        raise ConfigError(source, key, "give at least one format, or leave the key out")
    for n, fmt in enumerate(formats_of(value)):
        problem = format_problem(fmt, with_time=with_time)
        if problem:
            raise ConfigError(source, key if isinstance(value, str) else f"{key}[{n}]", problem)
    # The order of a list must never decide what a date means (03/04 as 3 April or 4 March).
    found = ambiguity(formats_of(value), with_time)
    if found is not None:
        raise ConfigError(source, f"{key}[{found[0]}]", found[1])


_XML_RECORD = re.compile(rf"^/?{NAME}(?:/{NAME})*$")
_XML_STEPS = re.compile(rf"^{NAME}(?:/{NAME})*$")
_FIELD_HINT = (
    "use Name, A/B, @attr, A/@attr, A[B='x']/C, A[@b='x']/C, or position() of the record "
    "or the repeat element (see etl/config/xml_paths.py)"
)


def _check_xml_paths(contract: FeedContract, source: str) -> None:
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
    allowed = {()} | ({_element_steps(repeat, namespaces)} if repeat else set())
    for key, path in _read_paths(contract):
        parsed = parse_field(path)
        if parsed.position and _element_steps(path, namespaces) not in allowed:
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
    depth = len(_element_steps(repeat, contract.format.namespaces))
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
    steps = _element_steps(repeat, namespaces)
    return _element_steps(path, namespaces)[: len(steps)] == steps


def _check_repeat(contract: FeedContract, repeat: str, source: str) -> None:
    """Some columns, a key field among them, read from the repeat element, spelled alike."""
    namespaces = contract.format.namespaces
    steps = _element_steps(repeat, namespaces)
    local = tuple(s.rsplit("}", 1)[-1] for s in steps)
    below: set[str] = set()
    for key, path in _read_paths(contract):
        resolved = _element_steps(path, namespaces)
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


def _element_steps(path: str, namespaces: dict[str, str]) -> tuple[str, ...]:
    """The element steps of a path (predicates left out), each prefix replaced by its URI."""
    steps: list[str] = []
    for name in parse_field(path).names:
        prefix, _, local = name.rpartition(":")
        steps.append(f"{namespaces[prefix]}}}{local}" if prefix else local)
    return tuple(steps)


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
    _check_links(contracts)
    for name, contract in contracts.items():
        parent = contracts.get(contract.source.from_feed or "")
        if parent is not None and needs_first(contract, parent):
            references = _implied_references(parent, contract)
            contracts[name] = contract.model_copy(update={"references": references})
    return {
        name: c.model_copy(
            update={"derived": tuple(d for d in contracts.values() if d.source.from_feed == name)}
        )
        for name, c in contracts.items()
    }


def _check_links(contracts: dict[str, FeedContract]) -> None:
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
            steps = _element_steps(path.strip("/"), fmt.namespaces)  # "uri}Item" when prefixed
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


def _implied_references(parent: FeedContract, derived: FeedContract) -> dict[str, str]:
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

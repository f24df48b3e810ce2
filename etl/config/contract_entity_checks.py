"""Start-up checks of one contract against its entity: fields, key, defaults, options.

Every field the contract names must be one of the entity's, every required field must be
read or defaulted, and the per-field tables must suit the field's type. Each problem is a
ConfigError naming the file and the dotted key.
"""

from __future__ import annotations

import polars as pl
from pydantic import ValidationError

from etl.config.contract_format import DateFormats, formats_of
from etl.config.contracts import FeedContract
from etl.config.toml import config_error
from etl.dates import ambiguity, format_problem
from etl.entities import ENTITIES
from etl.entities.checks import relaxed
from etl.errors import ConfigError
from etl.models import IS_ACTIVE


def check_against_entity(contract: FeedContract, source: str) -> None:
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
        raise config_error(source, exc, "options") from exc
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

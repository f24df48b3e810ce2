"""Error codes and plain-language messages for rejected cells.

The codes are a small stable taxonomy (documented in docs/feed-contracts.md) so people and scripts can
filter on them; the messages are written for the person in finance who fixes the ERP.
"""

from __future__ import annotations

import re

import polars as pl

from etl.dates import AMBIGUOUS, FIRST_YEAR, GAP, LAST_YEAR, YEAR, example, has_offset
from etl.entities import Entity
from etl.entities.checks import CURRENCY_PATTERN, NORCE_CODE, code_length, norce_takes
from etl.entities.party_checks import org_number_problem

CODES = {
    "missing_column": "A column the contract requires is not in the file (the whole file is rejected).",
    "required": "A required value is empty.",
    "type": (
        "The value is not a number, whole number, date, date-time or true/false as the field needs "
        "(also: more decimals than the field keeps, see [rounding]; a local time that a "
        "daylight-saving change skips or repeats)."
    ),
    "pattern": "The value does not have the allowed form (characters, length).",
    "range": "The number is outside the allowed range.",
    "length": "The text is too long or too short.",
    "enum": "The value is not one of the allowed values.",
    "checksum": "The EAN/GTIN check digit is wrong.",
    "email": "The e-mail address is not well formed (one @, no spaces, a domain with a dot).",
    "country": "The country is not an ISO 3166 two-letter country code such as SE.",
    "org_no": (
        "The organisation number does not have the form or check digit of the row's country "
        "(Swedish, Norwegian, Danish and Finnish numbers are checked)."
    ),
    "duplicate_key": "The same key appears on more than one row; none of them is applied.",
    "unmapped_value": (
        "The value is not in the feed contract's [values] map for the field, which rejects "
        'values it does not name (unmapped = "reject").'
    ),
    "no_match": (
        "The field is read from a column by the feed contract's [derive] pattern, and the "
        "value does not match it."
    ),
    "ignored_on_deactivation": (
        "Not a rejection: the row is marked inactive and was deactivated all the same; this "
        "cell failed its check and was not sent (a deactivation sends what Norce has)."
    ),
    "unknown_reference": (
        "The value names a record another feed does not hold, or holds switched off (a "
        "contact's company that is not in the companies feed, or is inactive there); the row "
        "keeps its last accepted state."
    ),
    "encoding": "The file is not in the declared character set (the whole file is rejected).",
    "head_mismatch": "Rows of one document disagree on a head field (date, order, currency...); none of it is sent.",
    "document_incomplete": "Another row of the same document was rejected; the document is sent whole or not at all.",
    "orphan_line": "A line has no document number (the whole file is rejected).",
    "total_mismatch": "The lines do not add up to the total the file states.",
    "negative_total": (
        "An invoice's lines add up to nothing or less: it is a credit note, to be sent by a "
        "credits feed (CreditPayment); the invoice is not sent."
    ),
    "norce_rejected": "Norce refused the document; its message says why.",
    "conflict": "A document number already sent came again with other content; it is not sent again.",
    "code_taken": (
        "The ERP number is already held by another Norce customer or company; giving it to "
        "this buyer too would merge two records, so it is not sent."
    ),
    "buyer_unmatched": (
        "Norce has no single record without a number for this buyer (none, several, or one "
        "that already has another number), so the ERP number is not sent."
    ),
    "payment_unknown": (
        "The order as received has no payment Norce could capture (no PaymentCode or "
        "PaymentRef), or several and the file does not say which: name it in the file."
    ),
    "fee_dropped": "Freight or a fee already captured by an earlier invoice of the order was left out.",
    "fee_repeated": 'A later invoice repeats fees and the contract says later_invoice_fees = "reject".',
    "field_count": (
        "A CSV row has more or fewer fields than the header (a non-empty extra field, or fields "
        "missing): none of its cells is read, so its key is unknown and removals wait."
    ),
    "parse": "The file cannot be read in its declared format (the whole file is rejected).",
    "quarantined": (
        "The process died twice while reading the file (memory, a crash in a reader): it was "
        "set aside so the feed goes on."
    ),
    "truncated": (
        "The file's trailer is missing, or its record count or control sum does not match the "
        "rows: the file was cut short or cannot be shown complete (the whole file is rejected)."
    ),
}

FRACTION = "fraction"  # the check name of a whole-number cell with a real fraction (code `type`)
DECIMALS = "decimals"  # the check name of a number with more decimals than kept (code `type`)
FIELD_COUNT = "field_count"  # the code of a CSV row whose field count is not the header's
UNMAPPED = "unmapped_value"  # the check (and code) of a value a [values] map rejects
NO_MATCH = "no_match"  # the check (and code) of a cell a [derive] pattern does not match
IDENTICAL = "identical_rows"  # the check of a duplicate key on rows equal field for field
_PATTERN_HELP = {
    CURRENCY_PATTERN: "three capital letters, an ISO 4217 code such as SEK or EUR",
}
_BOUNDS = {
    "greater_than": "above {0}",
    "greater_than_or_equal_to": "at least {0}",
    "less_than": "below {0}",
    "less_than_or_equal_to": "at most {0}",
    "in_range": "between {0} and {1}",
}


def describe(
    check: str,
    field: str,
    value: str | None,
    entity: Entity,
    dup_lines: str,
    *,
    decimal: str = ".",
    date_formats: tuple[str, ...] = ("%Y-%m-%d",),
    time_zone: str = "UTC",
) -> tuple[str, str]:
    """(error code, message) for one failed check on one cell, in the file's own dialect.

    `date_formats` are the field's own formats (a date or a date-time field); `time_zone` is
    the zone the file's local times are in.
    """
    label = entity.labels.get(field, field)
    # The whole value is the rejection's `value`; the message quotes only its start, so a
    # long cell is stored once, not again in every message about it.
    shown = "(empty)" if value is None else repr(_preview(value))
    name, args = _split(check)
    if name == "not_nullable":
        return "required", f"{label} is required but empty"
    if name == FRACTION:
        return "type", (
            f"{shown} has a fractional part; a whole number is needed here "
            f"(1{decimal}0 is read as 1)"
        )
    if name == DECIMALS:
        places = getattr(entity.fields()[field], "scale", 0)
        return "type", (
            f"{shown} has more decimals than the {places} {field} keeps: round it in the ERP, "
            "or let the feed contract round it, e.g. "
            f'[rounding] {field} = {{ places = {min(2, places)}, mode = "half_up" }}'
        )
    if name == "type" and entity.fields()[field] == pl.Boolean:
        return "type", (
            f"{shown} is not read as true or false for {label}: write true or false (any "
            "letter case) or 1 or 0, or let the feed contract translate the ERP's own "
            f'spellings (J/N, Yes/No): [values.{field}] map = {{ "J" = "true", "N" = "false" }}'
        )
    if name == "type":
        kind = _kind(entity.fields()[field], decimal, date_formats, time_zone)
        return "type", f"{shown} is not {kind}"
    if name == YEAR:
        kind = _kind(entity.fields()[field], decimal, date_formats, time_zone)
        return "type", (
            f"{shown} is read as the year {args[0]}, which no export means (years "
            f"{FIRST_YEAR} to {LAST_YEAR} are read): it is not {kind}"
        )
    if name == GAP:
        return "type", (
            f"{shown} does not exist in {time_zone}: the clocks skip that hour when daylight "
            f"saving time starts, so {label} cannot be placed; check the time in the ERP"
        )
    if name == AMBIGUOUS:
        return "type", (
            f"{shown} happens twice in {time_zone}: the clocks turn back an hour when daylight "
            f"saving time ends, so it cannot be told which is meant for {label}; "
            "write the time with its UTC offset, or avoid that hour"
        )
    if name == UNMAPPED:
        return UNMAPPED, (
            f"{shown} is not in [values.{field}] for {label}, which takes only the values it "
            "names: add it to the map in the feed contract, or correct it in the ERP"
        )
    if name == NO_MATCH:
        column = args[0] if args else "its column"
        return NO_MATCH, (
            f"{shown} in column {column} does not match the pattern of [derive.{field}], so "
            f"{label} cannot be read from it: correct it in the ERP, or the pattern in the "
            "feed contract"
        )
    if name == "duplicate_key":
        return (
            "duplicate_key",
            f"this key appears on lines {dup_lines}; fix the duplicates, none was applied",
        )
    if name == IDENTICAL:
        return "duplicate_key", (
            f"this key appears on lines {dup_lines}, the rows identical field for field; "
            "none was applied: remove the copies in the ERP, or let the feed contract take "
            'them once with [checks] same_key_rows = "merge_identical"'
        )
    if name == "checksum":
        return (
            "checksum",
            f"{shown} is not a valid EAN/GTIN (8, 12, 13 or 14 digits with the right check digit)",
        )
    if name == "email":
        return "email", (
            f"{shown} is not a well-formed e-mail address for {label}: write it like "
            "name@example.com (one @, no spaces, a domain with a dot)"
        )
    if name == "country":
        return "country", (
            f"{shown} is not an ISO 3166 two-letter country code: use capital letters "
            "such as SE, NO, DK or FI"
        )
    if name == "org_no":
        return "org_no", f"{shown} {org_number_problem(value or '')}"
    if name == "str_matches":
        pattern = args[0] if args else ""
        length = code_length(pattern)
        if length is not None:
            help_code = _code_help(field, value, length)
            return "pattern", f"{shown} is not allowed for {label}: {help_code}"
        help_text = _PATTERN_HELP.get(pattern, f"the form the feed contract requires ({pattern})")
        return "pattern", f"{shown} is not allowed for {label}: use {help_text}"
    if name == "str_length":
        low, high = (None if a == "None" else a for a in [*args, "None", "None"][:2])
        bounds = (
            f"{low} to {high}" if low and high else f"at least {low}" if low else f"at most {high}"
        )
        return "length", f"{label} must be {bounds} characters long, got {len(value or '')}"
    if name == NORCE_CODE:
        return "pattern", (
            f"{shown} is not allowed for {label}: use printable characters, no tabs or line "
            f"breaks, no space at the start or end, at most {args[0]} characters"
            + _utf16_note(value)
        )
    if name in ("isin", "notin"):
        allowed = ", ".join(a.strip("[]'\" ") for a in args)
        return "enum", f"{shown} is not allowed for {label}: use one of {allowed}"
    if name in _BOUNDS:
        return "range", f"{shown} is out of range: {label} must be {_BOUNDS[name].format(*args)}"
    return name, f"{shown} failed check {check} on {label}"


def _code_help(field: str, value: str | None, length: int) -> str:
    """What a strict code must look like; for a value Norce would take, how to relax it."""
    text = f"use letters, digits and . _ / - only, no spaces, at most {length} characters"
    if value is not None and norce_takes(value, length):
        text += (
            "; if the ERP's codes hold spaces or other characters Norce takes, let the feed "
            f'contract take them: [checks.fields.{field}] code = "norce"'
        )
    return text


def _utf16_note(value: str | None) -> str:
    """Why a short-looking code is too long: Norce counts UTF-16 units, as its nvarchar does."""
    astral = sum(ord(c) > 0xFFFF for c in value or "")
    if not astral:
        return ""
    return (
        f" as Norce counts them: each emoji or other character outside the Basic Multilingual "
        f"Plane counts as two, so this is {len(value or '') + astral}"
    )


def field_count(fields: pl.Expr, width: pl.Expr) -> pl.Expr:
    """The message of CSV rows of `fields` fields under a header of `width` (one a row)."""
    return pl.format(
        "{} {} where the header has {}: no cell of the row is read (a delimiter missing "
        "or too many, or one inside a cell that is not quoted?)",
        fields,
        pl.when(fields == 1).then(pl.lit("field")).otherwise(pl.lit("fields")),
        width,
    )


def _examples(date_formats: tuple[str, ...], zone: str) -> str:
    """`2026-11-20 14:30:45 or 2026-11-20`: the sample moment in each format, each once."""
    return " or ".join(dict.fromkeys(example(f, zone) for f in date_formats))


QUOTED_CHARS = 60


def _preview(value: str) -> str:
    return value if len(value) <= QUOTED_CHARS else value[:QUOTED_CHARS] + "…"


def _kind(dtype: pl.DataType, decimal: str, date_formats: tuple[str, ...], time_zone: str) -> str:
    """What a cell of this type must look like, with an example in the file's dialect.

    A field read in several formats shows an example of each, in the order they are tried.
    """
    if isinstance(dtype, pl.Decimal):
        places = dtype.scale or 0
        return f"a number with at most {places} decimals, such as 1234{decimal}50"
    if isinstance(dtype, pl.Datetime):
        shown = _examples(date_formats, time_zone)
        offsets = {has_offset(f) for f in date_formats}
        if offsets == {True}:
            return f"a date and time written like {shown} (its UTC offset included)"
        unless = " unless it gives its UTC offset" if True in offsets else ""
        return f"a date and time written like {shown} (local time in {time_zone}{unless})"
    if dtype == pl.Date:
        return f"a date written like {_examples(date_formats, 'UTC')}"
    if dtype.is_integer():
        return "a whole number"
    return "a valid value"


def _split(check: str) -> tuple[str, list[str]]:
    """`in_range(0, 100)` -> ("in_range", ["0", "100"]); `str_matches('^x$')` -> pattern."""
    match = re.fullmatch(r"(\w+)\((.*)\)", check, flags=re.S)
    if not match:
        return check, []
    name, inner = match.groups()
    if name == "str_matches":
        return name, [inner.strip("'\"")]
    if name == NO_MATCH:
        return name, [inner]  # a column name, commas and all
    return name, [a.strip() for a in inner.split(",")]

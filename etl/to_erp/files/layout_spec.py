"""The file layout contract as written in TOML: one pydantic model per table.

These models check what each key can hold on its own; etl.to_erp.files.layouts checks how keys
fit together and compiles every column's source against the layout's subject (the
OrderRequest, or a customer or company from Norce Query).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from etl.config.schedule import ScheduleSpec
from etl.config.toml import Strict
from etl.to_erp.files.charset import Policy

_SAMPLE = dt.datetime(2026, 11, 20, 14, 30, 45)


def date_format_problem(fmt: str) -> str | None:
    """Why `fmt` cannot write a date that reads back as the same day, or None."""
    text = _SAMPLE.strftime(fmt)
    try:
        back = dt.datetime.strptime(text, fmt)
    except ValueError:
        return f"{fmt!r} is not a strftime format that reads back (it wrote {text!r})"
    if back.date() != _SAMPLE.date():
        return f"{fmt!r} does not write a whole date ({text!r} for 20 November 2026)"
    return None


class LayoutSpec(Strict):
    """What the layout renders and how its records are grouped into files."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    description: str = ""
    # What one unit of the file is: an order, or a customer or company changed in Norce.
    subject: Literal["order", "customer", "company"] = "order"
    format: Literal["csv", "xml"]
    per: Literal["order", "batch"] = "batch"  # "order": one file per unit, whatever the subject
    max_orders_per_file: int = Field(default=500, ge=1, le=100_000)  # units: orders, parties
    max_files_per_run: int = Field(default=100, ge=1)


class TargetSpec(Strict):
    """Where files go and what they are called."""

    store: str = "erp"
    folder: str = "."
    file_name: str
    temp_suffix: str = Field(default=".part", pattern=r"^\.[A-Za-z0-9_-]{1,19}$")
    done_marker: str | None = None  # e.g. "{name}.done"; none: no marker is written


class OrderFormat(Strict):
    """How the file is written."""

    encoding: str = "utf-8"
    delimiter: str = Field(default=";", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."
    date_format: str = "%Y-%m-%d"
    line_end: Literal["crlf", "lf"] = "crlf"
    booleans: tuple[str, str] = ("1", "0")
    unencodable: Policy = "hold"
    replacement: str = Field(default="?", max_length=1)
    root: str | None = None  # xml: the document element of one order
    namespace: str | None = None  # xml: the default namespace (unprefixed names)
    namespaces: dict[str, str] = Field(default_factory=dict)  # xml: prefix = "uri"
    batch_root: str | None = None  # xml, per = "batch": the element around the orders

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc
        return value

    @field_validator("date_format")
    @classmethod
    def _writes_dates(cls, value: str) -> str:
        problem = date_format_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ColumnSpec(Strict):
    """One CSV column or XML element: `["Name", "Source"]` or `["Name", "Source", {options}]`."""

    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    decimals: int | None = Field(default=None, ge=0, le=10)  # round half up to this many places
    date_format: str | None = None  # this column's own strftime format

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if not isinstance(data, list | tuple):
            return data
        options = data[2] if len(data) == 3 else {}
        if (
            len(data) not in (2, 3)
            or not isinstance(options, dict)
            or {"name", "source"} & set(options)
        ):
            raise ValueError(
                'write a column as ["Name", "Source"] or ["Name", "Source", {decimals = 2}]'
            )
        return {**options, "name": data[0], "source": data[1]}


class RecordSpec(Strict):
    """A CSV record type, or a part of the XML document."""

    tag: str | None = Field(default=None, min_length=1, max_length=20)  # csv: first field
    each: str | None = None  # repeat over this list of the order: Items, Payments, Fees...
    only: Literal["goods", "fees"] | None = None  # each = "Items": only these lines
    columns: tuple[ColumnSpec, ...] = ()  # csv
    repeat: str | None = None  # xml, with each: the element written once per entry
    elements: tuple[ColumnSpec, ...] = ()  # xml


# [I] A personal value Norce's anonymization left (its shape is not documented): a run of
# x, * or -, a word that says so, or a random token (a GUID, or 32 or more hex digits).
FORGOTTEN_PLACEHOLDER = (
    r"(?i)^(?:x{2,}|\*{2,}|-{2,}|anonym(?:ous|i[sz]ed)?|forgotten|gdpr|deleted|removed|redacted"
    r"|[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{32,})$"
)


class ForgottenSpec(Strict):
    """A party layout: how a customer Norce anonymized is told apart, and what the ERP gets.

    `marker`: one row with the Code, the Norce Id and the `IsForgotten` column, no personal
    value; `skip`: nothing. Either way the event is recorded as `forgotten`.
    """

    action: Literal["marker", "skip"] = "skip"
    placeholder: str = FORGOTTEN_PLACEHOLDER  # a regex a scrambled value matches in full
    email_domains: tuple[str, ...] = ()  # e-mail domains Norce gives forgotten customers [I]

    @field_validator("placeholder")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class LayoutContract(Strict):
    """One layout file, as written."""

    layout: LayoutSpec
    target: TargetSpec
    format: OrderFormat = OrderFormat()
    record: dict[str, RecordSpec] = Field(min_length=1)
    schedule: ScheduleSpec = ScheduleSpec(interval_minutes=5)
    forgotten: ForgottenSpec = ForgottenSpec()

    @model_validator(mode="after")
    def _marker_says_so(self) -> LayoutContract:
        # A marker without its flag column would read as a customer whose values were all
        # emptied: the ERP would blank its own record instead of acting on the request.
        if self.forgotten.action == "marker":
            sources = {c.source for r in self.record.values() for c in (*r.columns, *r.elements)}
            if "IsForgotten" not in sources:
                raise ValueError(
                    'forgotten.action = "marker" needs a column with the source "IsForgotten" '
                    '(the flag the ERP acts on), or use action = "skip"'
                )
        return self

"""A feed contract's [format] table: how the ERP writes the file (format and dialect).

Format, encoding, separators, date formats, the rows around the data (header, trailer),
XML record paths and the bounds a hostile file is refused at. Each key is checked here on
its own and against the keys before it; etl.config.contract_entity_checks checks the date
formats against the entity's fields.
"""

from __future__ import annotations

import codecs
import re
from typing import Annotated, Literal
from xml.parsers import expat

import polars as pl
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from etl.config.toml import Strict
from etl.dates import zone_problem


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


# A regular expression, checked when the contract loads rather than on the first file.
Regex = Annotated[str, AfterValidator(_compiles)]


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

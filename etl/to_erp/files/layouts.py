"""File layouts for the ERP: one TOML file per format, checked at start-up.

A layout says how spooled orders (`schemas/orders/`), or customers and companies changed in
Norce (`schemas/parties/`, `[layout] subject = "customer"` or `"company"`), become the files
an ERP takes: CSV records (a head line, one line per item, one per payment...) or an XML
document (a UBL Order, or the ERP's own XML), one file per unit or per batch, the dialect
(encoding, separators, date format), where the files are put and under which names. Every
value is a path into the subject (the `OrderRequest`, or the party as Norce Query returns
it), a literal, one of a fixed list of functions (see etl.to_erp.files.sources), the shop's own
details from settings (`Seller.Name`, read once at start-up), or several of those as
`A | B`: the first that has a value. Adding an
ERP's format is a new layout file, not new Python. The tables are modelled in
etl.to_erp.files.layout_spec; this module checks how they fit together and compiles them.
Every problem is a ConfigError naming the file and the key. Names are unique across both
folders: a layout's name keys its exports, its outbox folder and its lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from etl.config.settings import SellerSettings, Settings
from etl.config.toml import read_toml, validated
from etl.errors import ConfigError, TransportError
from etl.to_erp.files import naming
from etl.to_erp.files.charset import encodable_in, xml_legal
from etl.to_erp.files.functions import Kind, Value
from etl.to_erp.files.layout_spec import (
    ColumnSpec,
    LayoutContract,
    LayoutSpec,
    OrderFormat,
    RecordSpec,
    TargetSpec,
    date_format_problem,
)
from etl.to_erp.files.sources import (
    SUBJECTS,
    Constant,
    Place,
    Source,
    Subject,
    list_fields,
    parse_source,
)
from etl.to_erp.files.xmlpaths import XmlPath, parse_path
from etl.transport.base import safe_relative


@dataclass(frozen=True)
class FirstOf:
    """`A | B | C`: the first source with a value; an empty text counts as none."""

    sources: tuple[Source, ...]
    kind: Kind

    def value(self, ctx: Place) -> Value:
        """The first value that is there."""
        for source in self.sources:
            value = source.value(ctx)
            if value is not None and value != "":
                return value
        return None


Compiled = Source | FirstOf


@dataclass(frozen=True)
class Column:
    """A column or element with its source compiled against the OrderRequest."""

    name: str
    source: Compiled
    decimals: int | None
    date_format: str | None
    xml: XmlPath | None  # xml layouts: the element path `name` resolves to
    written: str  # the source as the layout writes it, for messages


@dataclass(frozen=True)
class Record:
    """A record (CSV) or document part (XML), ready to render."""

    name: str
    tag: str | None
    each: str | None  # wire name of the list, e.g. "Items"
    each_attr: str | None  # the OrderRequest attribute behind it
    only: Literal["goods", "fees"] | None
    repeat: XmlPath | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Layout:
    """A checked layout: the contract as written and its compiled records."""

    contract: LayoutContract
    records: tuple[Record, ...]
    path: Path

    @property
    def name(self) -> str:
        """The layout's name (the order book keys exports by it)."""
        return self.contract.layout.name

    @property
    def subject(self) -> Subject:
        """What one unit of the file is: an order, a customer or a company."""
        return SUBJECTS[self.contract.layout.subject]

    @property
    def spec(self) -> LayoutSpec:
        """The [layout] table."""
        return self.contract.layout

    @property
    def target(self) -> TargetSpec:
        """The [target] table."""
        return self.contract.target

    @property
    def format(self) -> OrderFormat:
        """The [format] table."""
        return self.contract.format

    @property
    def orders_per_file(self) -> int:
        """How many units (orders, or parties) go into one file."""
        return 1 if self.spec.per == "order" else self.spec.max_orders_per_file


_CSV_ONLY = ("delimiter", "quote", "line_end")
_XML_ONLY = ("root", "namespace", "namespaces", "batch_root")
# The folder under schemas_dir that holds each subject's layouts.
FOLDERS: dict[str, tuple[str, ...]] = {"orders": ("order",), "parties": ("customer", "company")}


def load_layout(path: Path, settings: Settings) -> Layout:
    """Read and check one layout file; any problem is a ConfigError naming file and key."""
    source = str(path)
    raw = read_toml(path, "layout")
    if isinstance(raw.get("layout", {}), dict):
        raw.setdefault("layout", {}).setdefault("name", path.stem)
    contract = validated(LayoutContract, raw, source)
    _check_format(contract, source)
    _check_target(contract, settings, source)
    records = tuple(
        _record(contract, name, spec, source, settings) for name, spec in contract.record.items()
    )
    layout = Layout(contract, records, path)
    if contract.layout.format == "csv":
        _check_csv_records(layout, source)
    return layout


def load_layouts(settings: Settings, folder: str = "orders") -> dict[str, Layout]:
    """The layouts of `<schemas_dir>/orders/` (or `parties/`), by name; no folder means none.

    Both folders are read and checked, so a name used twice across them, or a layout in
    the wrong folder, stops start-up whichever job asks first.
    """
    every = load_every_layout(settings)
    return {name: layout for name, layout in every.items() if layout.path.parent.name == folder}


def load_every_layout(settings: Settings) -> dict[str, Layout]:
    """Every layout in `<schemas_dir>/orders/` and `<schemas_dir>/parties/`, by name."""
    layouts: dict[str, Layout] = {}
    for folder, subjects in FOLDERS.items():
        where = settings.schemas_dir / folder
        for path in sorted(where.glob("*.toml")) if where.is_dir() else []:
            layout = load_layout(path, settings)
            if layout.spec.subject not in subjects:
                home = next(f for f, s in FOLDERS.items() if layout.spec.subject in s)
                raise ConfigError(
                    str(path),
                    "layout.subject",
                    f"a {layout.spec.subject} layout belongs in {settings.schemas_dir / home}",
                )
            if layout.name in layouts:
                raise ConfigError(
                    str(path),
                    "layout.name",
                    f"{layout.name!r} is already used by {layouts[layout.name].path}",
                )
            layouts[layout.name] = layout
    return layouts


# -- cross-checks ------------------------------------------------------------------------------


def _check_format(contract: LayoutContract, source: str) -> None:
    fmt, kind = contract.format, contract.layout.format
    foreign = _XML_ONLY if kind == "csv" else _CSV_ONLY
    for key in foreign:
        if key in fmt.model_fields_set:
            raise ConfigError(source, f"format.{key}", f"not used by {kind} layouts: remove it")
    if kind == "csv" and fmt.delimiter in (fmt.quote, fmt.decimal, "\r", "\n"):
        raise ConfigError(
            source,
            "format.delimiter",
            f"{fmt.delimiter!r} is also the quote, the decimal separator or a line break",
        )
    holds = encodable_in(fmt.encoding)
    for key, text in [
        ("format.replacement", fmt.replacement),
        ("format.booleans", "".join(fmt.booleans)),
        ("format.delimiter", fmt.delimiter),
    ]:
        if not holds(text) or not xml_legal(text):
            raise ConfigError(source, key, f"{text!r} cannot be written in {fmt.encoding}")
    if kind == "xml":
        _check_xml_format(contract, source)


def _check_xml_format(contract: LayoutContract, source: str) -> None:
    fmt = contract.format
    if not fmt.root:
        raise ConfigError(source, "format.root", "xml layouts name the document element")
    if (contract.layout.per == "batch") != (fmt.batch_root is not None):
        raise ConfigError(
            source,
            "format.batch_root",
            'per = "batch" needs batch_root, the element around the orders; per = "order" has none',
        )
    for key in ("root", "batch_root"):
        value = getattr(fmt, key)
        if value is not None:
            try:
                parse_path(value, fmt.namespace, fmt.namespaces, elements_only=True)
            except ValueError as exc:
                raise ConfigError(source, f"format.{key}", str(exc)) from exc
            if "/" in value:
                raise ConfigError(source, f"format.{key}", "one element name, not a path")
    try:
        etree.tostring(etree.Element("probe"), encoding=fmt.encoding)
    except LookupError as exc:
        raise ConfigError(source, "format.encoding", f"lxml cannot write {fmt.encoding}") from exc


def _check_target(contract: LayoutContract, settings: Settings, source: str) -> None:
    target, per = contract.target, contract.layout.per
    if target.store not in settings.stores:
        known = ", ".join(sorted(settings.stores)) or "none"
        raise ConfigError(source, "target.store", f"no store {target.store!r} (known: {known})")
    try:
        safe_relative(target.folder)
    except TransportError as exc:
        raise ConfigError(source, "target.folder", str(exc)) from exc
    problem = naming.template_problem(target.file_name, per)
    if problem:
        raise ConfigError(source, "target.file_name", problem)
    if target.done_marker is not None:
        problem = naming.marker_problem(target.done_marker)
        if problem:
            raise ConfigError(source, "target.done_marker", problem)
    spec = contract.layout
    if per == "order" and "max_orders_per_file" in spec.model_fields_set:
        raise ConfigError(
            source, "layout.max_orders_per_file", 'per = "order" writes one order per file'
        )


def _record(
    contract: LayoutContract, name: str, spec: RecordSpec, source: str, settings: Settings
) -> Record:
    kind, subject = contract.layout.format, SUBJECTS[contract.layout.subject]
    key = f"record.{name}"
    used, unused = ("columns", "elements") if kind == "csv" else ("elements", "columns")
    if getattr(spec, unused):
        raise ConfigError(source, f"{key}.{unused}", f"{kind} layouts use `{used}`")
    specs: tuple[ColumnSpec, ...] = getattr(spec, used)
    if not specs:
        raise ConfigError(source, f"{key}.{used}", "a record needs at least one entry")
    each, each_attr, entry = _each(spec, key, source, subject)
    repeat = _repeat(contract, spec, key, source) if kind == "xml" else None
    if kind == "xml" and spec.tag is not None:
        raise ConfigError(source, f"{key}.tag", "tags are for csv records")
    if kind == "csv" and spec.repeat is not None:
        raise ConfigError(
            source,
            f"{key}.repeat",
            "repeat is for xml layouts: a csv record repeats with `each` alone",
        )
    columns = tuple(
        _column(contract, c, entry, each, f"{key}.{used}.{i}", source, subject, settings)
        for i, c in enumerate(specs)
    )
    names = [c.name for c in columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(source, f"{key}.{used}", f"named twice: {', '.join(twice)}")
    return Record(name, spec.tag, each, each_attr, spec.only, repeat, columns)


def _each(
    spec: RecordSpec, key: str, source: str, subject: Subject
) -> tuple[str | None, str | None, Any]:
    if spec.each is None:
        if spec.only is not None:
            raise ConfigError(source, f"{key}.only", 'only works with each = "Items"')
        return None, None, None
    lists = list_fields(subject.model)
    found = lists.get(spec.each.lower())
    if found is None:
        known = ", ".join(alias for alias, _, _ in lists.values())
        raise ConfigError(
            source, f"{key}.each", f"{spec.each!r} is not a list of the {subject.name} ({known})"
        )
    alias, attr, entry = found
    if spec.only is not None and alias != "Items":
        raise ConfigError(source, f"{key}.only", 'only works with each = "Items"')
    return alias, attr, entry


def _repeat(contract: LayoutContract, spec: RecordSpec, key: str, source: str) -> XmlPath | None:
    if spec.each is None:
        if spec.repeat is not None:
            raise ConfigError(source, f"{key}.repeat", "repeat needs `each`, the list it repeats")
        return None
    if spec.repeat is None:
        raise ConfigError(
            source, f"{key}.repeat", "a record with `each` names the element written per entry"
        )
    fmt = contract.format
    try:
        return parse_path(spec.repeat, fmt.namespace, fmt.namespaces, elements_only=True)
    except ValueError as exc:
        raise ConfigError(source, f"{key}.repeat", str(exc)) from exc


def _column(
    contract: LayoutContract,
    spec: ColumnSpec,
    entry: Any,
    each: str | None,
    key: str,
    source: str,
    subject: Subject,
    settings: Settings,
) -> Column:
    fmt = contract.format
    try:
        compiled = _compile(spec.source, entry, each, subject, settings.orders.seller)
        xml = (
            parse_path(spec.name, fmt.namespace, fmt.namespaces)
            if contract.layout.format == "xml"
            else None
        )
    except ValueError as exc:
        raise ConfigError(source, key, f"{spec.name!r}: {exc}") from exc
    kind = _kind(compiled)
    if spec.decimals is not None and kind != "decimal":
        raise ConfigError(source, f"{key}.decimals", f"{spec.source!r} is not a number")
    if spec.date_format is not None:
        problem = date_format_problem(spec.date_format)
        if kind != "datetime" or problem:
            raise ConfigError(
                source, f"{key}.date_format", problem or f"{spec.source!r} is not a date"
            )
    if isinstance(compiled, Constant):
        in_xml = contract.layout.format == "xml"
        holds = xml_legal if in_xml else encodable_in(fmt.encoding)
        if not holds(compiled.text):
            where = "XML" if in_xml else fmt.encoding
            raise ConfigError(source, key, f"the literal cannot be written in {where}")
    return Column(spec.name, compiled, spec.decimals, spec.date_format, xml, spec.source)


def _compile(
    text: str, entry: Any, each: str | None, subject: Subject, seller: SellerSettings
) -> Compiled:
    """One source, or `A | B`: the first of several with a value."""
    parts = [_one(part, entry, each, subject, seller) for part in _alternatives(text)]
    if len(parts) == 1:
        return parts[0]
    kinds = {_kind(p) for p in parts if not isinstance(p, Constant)} or {"text"}
    if len(kinds) > 1:
        raise ValueError(f"{text!r}: the alternatives give {' and '.join(sorted(kinds))}")
    return FirstOf(tuple(parts), kinds.pop())


def _one(
    text: str, entry: Any, each: str | None, subject: Subject, seller: SellerSettings
) -> Source:
    if subject.name == "order" and text.lower().startswith("seller."):
        return Constant(_seller(text, seller))
    return parse_source(text, entry, each, subject)


def _seller(text: str, seller: SellerSettings) -> str:
    """`Seller.EndpointID` -> settings [orders.seller] endpoint_id, which must be set."""
    wanted = text.partition(".")[2].replace("_", "").lower()
    for field in SellerSettings.model_fields:
        if field.replace("_", "") == wanted:
            value = getattr(seller, field)
            if not value:
                raise ValueError(f"{text!r}: set {field} under [orders.seller] in the settings")
            return str(value)
    known = ", ".join("Seller." + f.title().replace("_", "") for f in SellerSettings.model_fields)
    raise ValueError(f"{text!r} is not a seller setting (known: {known})")


def _alternatives(text: str) -> list[str]:
    """Split `A | B` on the bars outside 'literals'."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "|" and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    if len(parts) > 1 and not all(parts):
        raise ValueError(f"{text!r}: write alternatives as A | B, each one a source")
    return parts


def _kind(compiled: Compiled) -> Kind:
    return "text" if isinstance(compiled, Constant) else compiled.kind


def _check_csv_records(layout: Layout, source: str) -> None:
    """Reading a file back (and an ERP reading it) needs records told apart by their tag."""
    records = layout.records
    if records[0].each is not None:
        raise ConfigError(
            source,
            f"record.{records[0].name}.each",
            f"the first record is the {layout.subject.name}'s own line (no `each`): it starts "
            f"each {layout.subject.name}",
        )
    if len(records) > 1:
        tags = [r.tag for r in records]
        for record in records:
            if record.tag is None:
                raise ConfigError(
                    source, f"record.{record.name}.tag", "several records need a tag each"
                )
        if len(set(tags)) != len(tags):
            raise ConfigError(source, "record", "two records have the same tag")
    holds = encodable_in(layout.format.encoding)
    for record in records:
        if record.tag is not None and not holds(record.tag):
            raise ConfigError(
                source,
                f"record.{record.name}.tag",
                f"cannot be written in {layout.format.encoding}",
            )

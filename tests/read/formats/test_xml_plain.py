"""Plain records read by expression (etl.read.formats.xml_plain) give the handlers' rows and
refusals: generated stock exports whose records are plain, nearly plain (an entity, a CR, a
comment, a prefix, a repeat, a grandchild, a long text) or broken, read flat and through the
general handlers (a `position()` field beside them), frame for frame with their lines."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.config.contract_format import FormatSpec
from etl.errors import ParseError
from etl.read.formats.xml import read_xml
from etl.read.formats.xml_bounds import BLOCK
from etl.read.formats.xml_plain import Child, Plain, utf8
from tests.support.xml_readings import same_reading

NS = "urn:example:ns"
FIELDS = ["@sku", "Warehouse/@code", "Location", "OnHand", "Incoming", "ns:Code", "Missing"]
PLAIN_TEXTS = ["", " ", "L0", " padded ", "a\nb", "åäö", "🙂", "€", "x>y", "a" * 255, "a" * 256]
ODD_TEXTS = [
    "a\r\nb", "a\rb", "a&amp;b", "&#228;", "]]>", "\x01", "a" * 257, "ä" * 300, "ä" * 600,
    "a" * 1100, "a<!-- c -->b", "<![CDATA[<Item sku='z'>]]>", "a<?pi x?>", "<Deep>x</Deep>",
]  # fmt: skip
PLAIN_SKUS = [' sku="S1"', ' sku = "S 2"', ' sku="ä🙂"', ' sku=""', "", ' sku="1" extra="x"']
ODD_SKUS = [
    " sku='S3'", ' sku="a&amp;b"', ' sku="tab\there"', ' sku="line\nbreak"', ' xmlns="urn:d" sku="4"',
    ' sku="1" sku="2"', ' ns:kind="k" sku="5"', f' sku="{"a" * 257}"', ' xml:lang="sv" sku="6"',
]  # fmt: skip
PLAIN_GAPS = ["", "\n    ", "\r\n    ", " \t", "\n\n\n"]
ODD_GAPS = [" " * 300, "\r", " " * 1100, "x"]
BETWEEN = [
    "<!-- c -->", '<![CDATA[<Item sku="c"><Location>x</Location></Item>]]>',
    '\n<Other><Item sku="no"/></Other>\n', " " * 1100, " " * 600, "\n<?pi <Item sku='p'/>?>\n",
    '<!-- <Item sku="c"><Location>x</Location></Item> -->', "\r  ", "text", "x]", "]]>",
]  # fmt: skip


def _plain_child(text: str) -> list[str]:
    return [
        '<Warehouse code="MAIN"/>',
        f'<Warehouse code="W2" other="o">{text}</Warehouse>',
        "<Warehouse/>",
        '<Warehouse  code = "X" />',
        f"<Location>{text}</Location>",
        "<Location/>",
        "<Location></Location>",
        f"<Location >{text}</Location >",
        f"<OnHand>{text}</OnHand>",
        f"<Incoming>{text}</Incoming>",
        f'<Unread a="1">{text}</Unread>',
        f"<Item>{text}</Item>",
    ]


def _odd_child(text: str) -> list[str]:
    return [
        f"<ns:Code>{text}</ns:Code>",
        f'<Code xmlns="{NS}">{text}</Code>',
        f"<Location>{text}</Locaton>",
        f'<OnHand xmlns="urn:d">{text}</OnHand>',
        '<Warehouse code="1" code="2"/>',
        f"<Location>{text}<Deep/></Location>",
    ]


@st.composite
def _record(draw: st.DrawFn, odd: bool) -> str:
    """A plain record or (`odd`) one with one part not plain: its attributes, a gap, a child."""
    part = draw(st.sampled_from(["sku", "gap", "child", "text"])) if odd else ""

    def pick(name: str, plain: list[str], others: list[str]) -> str:
        return draw(st.sampled_from(others if name == part else plain))

    sku = pick("sku", PLAIN_SKUS, ODD_SKUS)
    if draw(st.integers(0, 9)) == 0:
        return f"<Item{sku}/>"
    gap = pick("gap", PLAIN_GAPS, ODD_GAPS)
    children = [
        pick("child", _plain_child(pick("text", PLAIN_TEXTS, ODD_TEXTS)), _odd_child("x"))
        for _ in range(draw(st.integers(1, 6)))
    ]
    return f"<Item{sku}>{gap}{gap.join(children)}{gap}</Item>"


@st.composite
def _document(draw: st.DrawFn) -> bytes:
    # Plain records of one shape, as an export writes them, with a few odd things put in.
    common = draw(_record(odd=False))
    body = [common] * draw(st.integers(1, 8))
    for _ in range(draw(st.integers(0, 3))):
        odd = draw(st.one_of(_record(odd=False), _record(odd=True), st.sampled_from(BETWEEN)))
        body.insert(draw(st.integers(0, len(body))), odd)
    between = draw(st.sampled_from(["\n  ", "\r\n  ", ""]))
    root, epilog = draw(
        st.sampled_from(
            [(f'<StockReport xmlns:ns="{NS}">', "\n")] * 6
            + [('<StockReport xmlns="urn:d">', "\n"), ("<StockReport>", "\n<Item sku='after'/>")]
        )
    )
    prolog, codec = draw(
        st.sampled_from(
            [
                ('<?xml version="1.0" encoding="UTF-8"?>\n', "utf-8"),
                ('<?xml version="1.0"?>\n', "utf-8"),
                ("", "utf-8"),
                ('\ufeff<?xml version="1.0" encoding="utf-8"?>\n', "utf-8"),
                ('<?xml version="1.0" encoding="ISO-8859-1"?>\n', "latin-1"),
            ]
        )
    )
    doc = f"{prolog}{root}\n{between}{between.join(body)}{between}\n</StockReport>{epilog}"
    if draw(st.integers(0, 4)) == 0:
        doc = doc.replace("\r\n", "\n").replace("\n", "\r\n")
    data = doc.encode(codec, errors="replace")
    cut = draw(st.integers(0, 19))
    if cut == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut short: not well-formed
    elif cut == 1:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff" + data[at:]  # not UTF-8
    return data


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_document(),
    named=st.sampled_from([None, "UTF-8"]),
    fields=st.lists(st.sampled_from(FIELDS), min_size=3, max_size=7, unique=True),
    max_rows=st.sampled_from([None] * 4 + [1, 3]),
    max_columns=st.sampled_from([None] * 4 + [3, 4, 6]),
)
def test_plain_records_read_as_the_general_handlers_read_them(
    tmp_path_factory: pytest.TempPathFactory,
    data: bytes,
    named: str | None,
    fields: list[str],
    max_rows: int | None,
    max_columns: int | None,
) -> None:
    path = tmp_path_factory.mktemp("plain") / "stock.xml"
    path.write_bytes(data)
    bounds = {"max_cell_bytes": 1024} | ({"max_rows": max_rows} if max_rows else {})
    bounds |= {"max_columns": max_columns} if max_columns else {}  # distinct names
    encoding = {} if named is None else {"encoding": named}
    fmt = FormatSpec(
        type="xml", record="StockReport/Item", namespaces={"ns": NS}, **bounds, **encoding
    )

    same_reading(path, fmt, fields)


PLAIN = (
    '<Item sku="S1">\n    <Warehouse code="MAIN"/>\n    <Location>L0</Location>\n'
    "    <OnHand>5</OnHand>\n  </Item>"
)
REPEATS = [
    "<Location>a</Location><Location/>",
    "<Location/><Location>b</Location>",
    "<Warehouse/><Warehouse code='B'/>",
    "<Warehouse code='A'/><Warehouse code='B'/>",
]
EDGES = (
    [PLAIN.replace(' sku="S1"', sku) for sku in ODD_SKUS]
    + [PLAIN.replace("\n    ", gap) for gap in ODD_GAPS]
    + [PLAIN.replace(">L0<", f">{text}<") for text in ODD_TEXTS]
    + [PLAIN.replace('<Warehouse code="MAIN"/>', child) for child in _odd_child("x") + REPEATS]
    + [PLAIN.replace('"MAIN"', f'"{value}"') for value in ["a\tb", "a\nb", "a\r\nb", "a&lt;b"]]
    + BETWEEN
)


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_one_odd_thing_among_plain_records_is_read_as_the_handlers_read_it(
    tmp_path: Path, edge: str, newline: str
) -> None:
    body = "\n  ".join([PLAIN] * 3 + [edge] + [PLAIN] * 3 + [edge] + [PLAIN] * 3)
    doc = f'<?xml version="1.0" encoding="UTF-8"?>\n<StockReport xmlns:ns="{NS}">\n  {body}\n</StockReport>\n'
    path = tmp_path / "stock.xml"
    path.write_bytes(doc.replace("\n", newline).encode())
    for bounds in ({}, {"max_columns": 6}, {"max_rows": 4}, {"max_rows": 7}):
        fmt = FormatSpec(
            type="xml",
            record="StockReport/Item",
            namespaces={"ns": NS},
            max_cell_bytes=1024,
            **bounds,
        )
        same_reading(path, fmt, FIELDS)


@pytest.mark.parametrize("broken", ["]]>", "\x01"])
def test_a_long_text_before_a_broken_plain_record_is_refused_first(
    tmp_path: Path, broken: str
) -> None:
    """The handlers measure the text before a record as it opens, before expat reads on."""
    bad = PLAIN.replace(">L0<", f">{broken}<")
    path = tmp_path / "stock.xml"
    path.write_text(f"<StockReport>\n{PLAIN}{' ' * 1100}{bad}\n</StockReport>\n")
    fmt = FormatSpec(type="xml", record="StockReport/Item", max_cell_bytes=1024)
    same_reading(path, fmt, FIELDS[:4])
    with pytest.raises(ParseError, match="the text of StockReport is longer than 1,024 bytes"):
        read_xml(path, fmt, FIELDS[:4])


@pytest.mark.parametrize(
    ("prolog", "codec", "named"),
    [
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "utf-8", None),
        ("", "utf-8", None),
        ('\ufeff<?xml version="1.0"?>\n', "utf-8", "UTF-8"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>\n', "latin-1", None),
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "cp1252", "cp1252"),
        ('<?xml version="1.0" encoding="UTF-16"?>\n', "utf-16", None),
    ],
)
def test_plain_records_in_each_encoding_read_as_the_handlers_read_them(
    tmp_path: Path, prolog: str, codec: str, named: str | None
) -> None:
    records = "\n".join(f'<Item sku="å{n}"><Location>äö €{n}</Location></Item>' for n in range(5))
    path = tmp_path / "stock.xml"
    path.write_bytes(f"{prolog}<StockReport>\n{records}\n</StockReport>\n".encode(codec, "replace"))
    encoding = {} if named is None else {"encoding": named}
    same_reading(path, FormatSpec(type="xml", record="StockReport/Item", **encoding), FIELDS)


def _export(records: int, seed: int) -> str:
    """A stock export past several blocks: plain records of three shapes, some not plain."""
    pick = random.Random(seed)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<StockReport>"]
    for n in range(records):
        location = pick.choice(["L1", "åäö", "", "multi\nline", "a&amp;b", "x" * 200])
        incoming = f"\n    <Incoming>{n % 7}</Incoming>" if n % 3 == 0 else ""
        comment = "<!-- checked -->" if pick.random() < 0.001 else ""
        lines.append(
            f'  <Item sku="{n:07}">\n    <Warehouse code="W{n % 4}"/>\n'
            f"    <Location>{location}</Location>{comment}\n    <OnHand>{n}</OnHand>{incoming}\n"
            "  </Item>"
        )
    lines.append("</StockReport>\n")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_export_reads_the_same_past_blocks_and_batches(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "stock.xml"
    path.write_text(_export(40_000, seed), encoding="utf-8")
    assert path.stat().st_size > 4 * BLOCK
    fmt = FormatSpec(type="xml", record="StockReport/Item")
    same_reading(path, fmt, FIELDS[:5])
    lines = read_xml(path, fmt, FIELDS[:5]).frame["_line"].to_list()
    assert lines[:2] == [3, 9] and len(lines) == 40_000  # record 0 has an Incoming: 6 lines


def test_a_run_reads_every_plain_record_of_each_shape() -> None:
    """The expressions themselves: plain records in three shapes are all read, in order."""
    plain = Plain(
        "Item",
        {"sku": (0,)},
        {"Warehouse": Child((), ((1, "code"),)), "Location": Child((2,), ())},
        4,
        256,
    )
    records = [
        '<Item sku="1">\n  <Warehouse code="A"/>\n  <Location>x</Location>\n</Item>',
        '<Item sku="2"><Location/><Location>no</Location></Item>',
        '<Item sku="3">\n  <Warehouse code="B"></Warehouse>\n</Item>',
        '<Item sku="4">\n  <Warehouse code="C"/>\n  <Location>åä\nö</Location>\n</Item>',
    ]
    text = "<R>\n" + "\n".join(records) + "\n</R>"
    run = plain.run(text, text.index("<Item"), 10, 2)
    assert run.lines == [2, 6, 7, 10]
    assert run.cells == [
        *("1", "A", "x", None),
        *("2", None, "", None),
        *("3", "B", None, None),
        *("4", "C", "åä\nö", None),
    ]
    assert run.names == {"Item", "sku", "Warehouse", "code", "Location"}
    assert text[run.end :] == "\n</R>"
    assert plain.run(text, text.index("<Item"), 2, 2).lines == [2, 6]  # room: max_rows


def test_only_a_file_expat_reads_as_utf8_is_read_by_runs() -> None:
    assert utf8(b'<?xml version="1.0" encoding="utf-8"?><a/>', None)
    assert utf8(b"\xef\xbb\xbf<a/>", None)
    assert utf8(b"<?xml version='1.0'?><a/>", None)
    assert not utf8(b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>', None)
    assert not utf8(b"\xff\xfe<\x00a\x00/\x00>\x00", None)
    assert not utf8(b"<?xml version='1.0'?>", "cp1252")
    assert utf8(b'<?xml version="1.0" encoding="ISO-8859-1"?>', "utf-8")


RECORDS = (
    '  <Item sku="1"><Location>a</Location></Item>\n'
    '  <Item sku="2"><Location>b &amp; c</Location></Item>\n'
    '  <Item sku="3"><Location>d</Location></Item>\n'
)


@pytest.mark.parametrize(
    "root",
    [
        '<s:Root xmlns:s="urn:s" xmlns="urn:s">',  # the default namespace of a prefixed root
        '<s:Root xmlns:s="urn:s" xmlns="urn:d">',
    ],
)
def test_records_under_a_default_namespace_are_not_the_records_tag(
    tmp_path: Path, root: str
) -> None:
    """Review R-XML D1: expat names `<Item>` `urn:s}Item` there; no row is the record's (as
    the handlers read it), whatever the record's text (an entity sent one to the handlers)."""
    path = tmp_path / "stock.xml"
    path.write_text(f"{root}\n{RECORDS}</s:Root>\n", encoding="utf-8")
    fmt = FormatSpec(type="xml", record="s:Root/Item", namespaces={"s": "urn:s"})
    read = read_xml(path, fmt, ["@sku", "Location"])
    assert read.frame.height == 0
    assert read.absent == ("@sku", "Location")
    same_reading(path, fmt, ["@sku", "Location"])


def test_a_default_namespace_declared_mid_file_and_undeclared_again(tmp_path: Path) -> None:
    """Plain records before, inside (`xmlns="urn:d"`: not the record's) and under `xmlns=""`."""
    plain = "".join(f'  <Item sku="{n}"><Location>L{n}</Location></Item>\n' for n in range(50))
    path = tmp_path / "stock.xml"
    path.write_text(
        f'<Root>\n{plain}<Group xmlns="urn:d">\n{plain}<Inner xmlns="">\n{plain}</Inner>\n'
        f"</Group>\n{plain}</Root>\n",
        encoding="utf-8",
    )
    fmt = FormatSpec(type="xml", record="Root/Item")
    assert read_xml(path, fmt, ["@sku", "Location"]).frame.height == 100
    same_reading(path, fmt, ["@sku", "Location"])
    # `Group` is `urn:d}Group` to expat: no record is under `Root/Group` (the handlers agree).
    fmt = FormatSpec(type="xml", record="Root/Group/Inner/Item")
    assert read_xml(path, fmt, ["@sku", "Location"]).frame.height == 0
    same_reading(path, fmt, ["@sku", "Location"])


def test_a_max_cell_bytes_past_what_a_regular_expression_may_repeat(tmp_path: Path) -> None:
    """Review R-XML D2: `re` refuses a repeat count of 2**32 - 1 or more; the reading stands."""
    path = tmp_path / "stock.xml"
    path.write_text('<Root>\n  <Item sku="1"><Location>a</Location></Item>\n</Root>\n')
    fmt = FormatSpec(type="xml", record="Root/Item", max_cell_bytes=4 * (2**32 - 1))
    assert read_xml(path, fmt, ["@sku", "Location"]).frame["Location"].to_list() == ["a"]


def test_shapes_taking_turns_read_as_the_handlers_do(tmp_path: Path) -> None:
    """Records of 40 shapes in turn (more than MAX_SHAPES): each looked up by its key."""
    items = "".join(
        f'  <Item sku="{n}"><Location>L{n}</Location><T{n % 40}/></Item>\n' for n in range(400)
    )
    path = tmp_path / "stock.xml"
    path.write_text(f"<Root>\n{items}</Root>\n", encoding="utf-8")
    fmt = FormatSpec(type="xml", record="Root/Item")
    assert read_xml(path, fmt, ["@sku", "Location"]).frame.height == 400
    same_reading(path, fmt, ["@sku", "Location"])

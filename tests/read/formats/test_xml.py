"""XML: the shipped sample, paths and namespaces, hostile documents, and a large file."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import ParseError, SchemaMismatch
from etl.models import LINE
from etl.read.formats import read_file
from etl.to_norce.feed import parse_and_validate
from tests.fixtures.feeds import FIXTURES, check, contract_from, rejections, shipped
from tests.support.paths import REPO, SAMPLES

STOCK_SAMPLE = SAMPLES / "stock" / "stock_20261120.xml"


def test_the_shipped_stock_sample_parses_to_the_expected_rows(scratch: Path) -> None:
    parsed = read_file(STOCK_SAMPLE, shipped("stock"), scratch)

    assert parsed.columns == (
        "@sku",
        "Warehouse/@code",
        "Location",
        "OnHand",
        "Incoming",
        "NextDelivery",
        "LeadTimeDays",
    )
    assert parsed.frame.select(*parsed.columns, LINE).rows() == [
        ("100123", "MAIN", "A1", "42", "100", "2026-12-01", "3", 3),
        ("100123", "STORE-GBG", "FLOOR", "5", None, None, None, 11),
        ("100124", "MAIN", "A1", "17", None, None, None, 16),
        ("100200", "MAIN", "B4", "8", "24", "2026-11-28", "5", 21),
        ("100201", "MAIN", "B4", "0", None, None, None, 29),
        ("100300", "MAIN", "C2", "250", None, None, None, 34),
        ("100301", "MAIN", "C2", "-2", "10", "2026-11-25", "2", 39),
        ("100400", "MAIN", "D1", "31", None, None, None, 47),
        ("100400", "MAIN", "D1", "30", None, None, None, 52),
        ("100401", "MAIN", "D1", "many", None, None, None, 57),
    ]
    lines = STOCK_SAMPLE.read_text(encoding="utf-8").splitlines()
    for sku, line in parsed.frame.select("@sku", LINE).rows():
        assert f'<Item sku="{sku}">' in lines[line - 1]


NAMESPACED = """
[feed]
entity = "onhand"
[format]
type = "xml"
decimal = ","
record = "s:Report/s:Items/s:Item"
[format.namespaces]
s = "urn:erp:stock"
w = "urn:erp:warehouse"
[columns]
"@sku" = "part_no"
"@w:site" = "warehouse_code"
"s:Place/s:Location" = "location_code"
"s:Stock/s:OnHand" = "onhand_value"
"s:Stock/s:Incoming" = "incoming_value"
"s:Due/@date" = "next_delivery_date"
"""


def test_attributes_nested_paths_and_namespaces(tmp_path: Path, scratch: Path) -> None:
    contract = contract_from(NAMESPACED, tmp_path)
    path = FIXTURES / "xml" / "namespaced_stock.xml"

    validated = check(path, contract, scratch)

    # Only Report/Items/Item are records: not the Item in the header, not the part inside one.
    assert validated.rows_read == 3
    assert validated.valid.drop("lead_time_days", "is_active").rows() == [
        (7, "100123", "MAIN", "A1", Decimal(42), Decimal(100), dt.date(2026, 12, 1)),
        (16, "100124", "STORE-GBG", "FLOOR", Decimal("-2.5"), None, None),
    ]
    # An empty element is an empty value: `required`, not a pattern failure on "".
    assert rejections(validated) == [(20, "location_code", "s:Place/s:Location", "required")]


def test_a_contract_without_the_namespace_finds_no_records(tmp_path: Path, scratch: Path) -> None:
    text = NAMESPACED.replace("s:", "").replace("w:site", "site")
    contract = contract_from(text, tmp_path)

    parsed = read_file(FIXTURES / "xml" / "namespaced_stock.xml", contract, scratch)

    assert parsed.frame.is_empty()


def run_with_timeout(action: Callable[[], object], seconds: float = 20) -> BaseException | None:
    """Run `action` in a thread; the exception it raised, or fail when it does not finish."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the parser was still busy after {seconds} s"
    return outcome[0]


def test_a_billion_laughs_entity_bomb_is_refused(tmp_path: Path, scratch: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    path = tmp_path / "bomb.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE StockReport [\n{chr(10).join(entities)}\n]>\n'
        '<StockReport><Item sku="&lol9;"><Location>&lol9;</Location></Item></StockReport>\n',
        encoding="utf-8",
    )

    error = run_with_timeout(lambda: read_file(path, shipped("stock"), scratch))

    assert isinstance(error, ParseError)
    assert "lol" not in str(error)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: opening it for reading blocks until released."""
    path = tmp_path / "secret.pipe"
    os.mkfifo(path)
    yield path
    with contextlib.suppress(OSError):  # release a reader that should never have opened it
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every path it is asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'<!ENTITY x "from the network">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE StockReport [<!ENTITY x SYSTEM "file://{secret}">]>',
        '<!DOCTYPE StockReport [<!ENTITY % x SYSTEM "file://{secret}"> %x;]>',
        '<!DOCTYPE StockReport SYSTEM "file://{secret}">',
        '<!DOCTYPE StockReport [<!ENTITY x SYSTEM "{url}/entity">]>',
        '<!DOCTYPE StockReport SYSTEM "{url}/dtd">',
    ],
    ids=["file-entity", "file-parameter-entity", "file-dtd", "http-entity", "http-dtd"],
)
def test_external_entities_are_refused_and_never_fetched(
    tmp_path: Path,
    scratch: Path,
    fifo: Path,
    web: tuple[str, list[str]],
    doctype: str,
) -> None:
    url, asked = web
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n{doctype.format(secret=fifo, url=url)}\n'
        '<StockReport><Item sku="1"><Location>&x;</Location><OnHand>1</OnHand>'
        '<Warehouse code="M"/></Item></StockReport>\n'.replace(
            "&x;", "&x;" if "ENTITY x" in doctype else "A1"
        ),
        encoding="utf-8",
    )

    # Reading the pipe would block: finishing at all proves the file was never opened.
    error = run_with_timeout(lambda: read_file(path, shipped("stock"), scratch))

    assert isinstance(error, ParseError)
    assert asked == []


def test_the_passwd_entity_is_refused_without_its_content(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE StockReport [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<StockReport><Item sku="&x;"><Location>&x;</Location></Item></StockReport>\n',
        encoding="utf-8",
    )

    with pytest.raises(ParseError, match="DOCTYPE") as caught:
        read_file(path, shipped("stock"), scratch)

    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("<StockReport>\n<Item sku='1'>\n<Location>A</Location>\n</Itme>\n</StockReport>", 4),
        ("<StockReport>\n<Item sku='1'>\n<Location>A & B</Location>\n</Item>\n</StockReport>", 3),
        ("<StockReport>\n<Item sku='1'>\n<Location>A</Location>\n</Item>\n", 5),
        ("ItemNo;Location\n1;A\n", 1),
        ("", 1),
    ],
    ids=["mismatched-tag", "bare-ampersand", "cut-short", "not-xml", "empty"],
)
def test_malformed_xml_is_refused_with_a_line(
    tmp_path: Path, scratch: Path, text: str, line: int
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ParseError, match=r"^bad\.xml: not well-formed XML") as caught:
        read_file(path, shipped("stock"), scratch)

    assert caught.value.line == line


LARGE = """
import resource, sys
from pathlib import Path
from etl.config.contract_files import load_contract
from etl.read.formats import read_file
from etl.config.settings import Settings
from etl.embedded import SCHEMAS

path, records = Path(sys.argv[1]), int(sys.argv[2])
with path.open("w", encoding="utf-8") as out:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\\n<StockReport>\\n')
    for i in range(records):
        out.write(
            f'  <Item sku="{i:07d}">\\n    <Warehouse code="MAIN"/>\\n'
            f'    <Location>L{i % 40}</Location>\\n    <OnHand>{i % 300}</OnHand>\\n'
            f'    <Incoming>5</Incoming>\\n    <NextDelivery>2026-12-01</NextDelivery>\\n'
            f'    <LeadTimeDays>3</LeadTimeDays>\\n  </Item>\\n'
        )
    out.write("</StockReport>\\n")
contract = load_contract(SCHEMAS / "stock.toml", Settings())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
parsed = read_file(path, contract, path.parent)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
frame = parsed.frame
print(frame.height, frame["@sku"][0], frame["@sku"][-1], frame["_line"][-1], grown // 1024)
"""


@pytest.mark.slow
def test_a_200k_record_file_streams(tmp_path: Path) -> None:
    records = 200_000
    # A fresh process, so the peak memory measured is this parse's and nobody else's.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LARGE), str(tmp_path / "big.xml"), str(records)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    height, first, last, last_line, grown_mb = result.stdout.split()
    size_mb = (tmp_path / "big.xml").stat().st_size / 2**20
    assert (int(height), first, last) == (records, "0000000", f"{records - 1:07d}")
    assert int(last_line) == 2 + 8 * (records - 1) + 1
    # The whole tree of this file takes about 13 times its size; the column buffers far less.
    assert int(grown_mb) < 6 * size_mb, f"{grown_mb} MB for a {size_mb:.0f} MB file"


def test_a_required_path_that_occurs_in_no_record_rejects_the_file(tmp_path: Path) -> None:
    contract = contract_from(
        '[feed]\nentity = "onhand"\n[format]\ntype = "xml"\nrecord = "Stock/Item"\n'
        '[columns]\n"@sku" = "part_no"\n"@wh" = "warehouse_code"\n"@loc" = "location_code"\n'
        '"OnHand" = "onhand_value"\n"Incoming" = "incoming_value"\n',
        tmp_path,
        "stock",
    )
    path = tmp_path / "stock_1.xml"
    # The ERP renamed <OnHand> to <Qty>; <Incoming> is optional and simply absent today.
    path.write_text(
        '<Stock><Item sku="1" wh="M" loc="A"><Qty>4</Qty></Item></Stock>', encoding="utf-8"
    )
    with pytest.raises(SchemaMismatch, match=r"'OnHand' occurs in no record"):
        parse_and_validate(path, contract, tmp_path / "scratch")
    path.write_text(
        '<Stock><Item sku="1" wh="M" loc="A"><OnHand>4</OnHand></Item></Stock>', encoding="utf-8"
    )
    assert parse_and_validate(path, contract, tmp_path / "scratch").valid.height == 1
    path.write_text("<Stock><Row/></Stock>", encoding="utf-8")
    with pytest.raises(ParseError, match=r"no <Stock/Item> records"):
        parse_and_validate(path, contract, tmp_path / "scratch")

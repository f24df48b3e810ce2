"""format.doctype = "external_dtd": a DOCTYPE that only names an external DTD (BMEcat).

The declaration is taken, the DTD is never fetched, opened or read: an entity the DTD would
declare stays undefined, so a document that uses one is refused. Internal subsets, entity
declarations and entity references stay refused, with their line and column.
"""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config.contracts import FeedContract
from etl.errors import ConfigError, ParseError
from etl.models import LINE
from etl.read.formats import read_file
from tests.fixtures.cases import DIALECTS
from tests.fixtures.feeds import check, contract_from, rejections

BMECAT = DIALECTS / "bmecat_products.xml"
CONTRACT = (DIALECTS / "bmecat_products.toml").read_text(encoding="utf-8")
NO_KEY = CONTRACT.replace('doctype = "external_dtd"\n', "")
DECLARATION = '<!DOCTYPE BMECAT SYSTEM "bmecat_new_catalog_2005.dtd">'


def bmecat(tmp_path: Path, doctype: str, product: str = "<SUPPLIER_PID>1</SUPPLIER_PID>") -> Path:
    """A small BMEcat file with `doctype` on line 2 and one PRODUCT (its inner XML given)."""
    path = tmp_path / "catalog.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        '<BMECAT version="2005" xmlns="http://www.bmecat.org/bmecat/2005">\n'
        f"<T_NEW_CATALOG>\n<PRODUCT>{product}</PRODUCT>\n</T_NEW_CATALOG>\n</BMECAT>\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def allowed(tmp_path: Path) -> FeedContract:
    return contract_from(CONTRACT, tmp_path / "schemas", "bmecat_products")


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that serves an entity declaration and records every request."""
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


def test_a_bmecat_catalogue_reads_with_the_key(
    tmp_path: Path, scratch: Path, allowed: FeedContract
) -> None:
    validated = check(BMECAT, allowed, scratch)

    valid = validated.valid.select(LINE, "part_no", "name", "ean", "manufacturer_part_no")
    assert valid.rows() == [
        (25, "AC-1001", "Akku-Bohrschrauber 18 V", "4006381333931", "BS18-BL"),
        (50, "AC-1002", "Bit-Satz 32-teilig", None, "BIT32"),  # an ean8 is not the gtin
    ]
    assert rejections(validated) == [
        (71, "ean", "b:PRODUCT_DETAILS/b:INTERNATIONAL_PID[@type='gtin']", "checksum")
    ]


def test_a_public_id_is_taken_too(tmp_path: Path, scratch: Path, allowed: FeedContract) -> None:
    path = bmecat(tmp_path, '<!DOCTYPE BMECAT PUBLIC "-//BMEcat//DTD 2005//EN"\n  "bmecat.dtd">')

    frame = read_file(path, allowed, scratch).frame

    assert frame.select("b:SUPPLIER_PID", LINE).rows() == [("1", 6)]


def test_a_bmecat_gz_is_checked_while_expanded_the_same_way(
    tmp_path: Path, scratch: Path, allowed: FeedContract
) -> None:
    path = tmp_path / "catalog.xml.gz"
    path.write_bytes(gzip.compress(BMECAT.read_bytes()))

    frame = read_file(path, allowed, scratch).frame

    assert frame["b:SUPPLIER_PID"].to_list() == ["AC-1001", "AC-1002", "AC-1003"]


def test_without_the_key_the_refusal_names_it(tmp_path: Path, scratch: Path) -> None:
    contract = contract_from(NO_KEY, tmp_path / "schemas", "bmecat_products")

    with pytest.raises(ParseError, match=r'format\.doctype = "external_dtd"') as caught:
        read_file(BMECAT, contract, scratch)

    assert str(caught.value).startswith("bmecat_products.xml: ")
    assert "(column " in str(caught.value)
    assert caught.value.line == 2


@pytest.mark.parametrize(
    "use",
    ["<SUPPLIER_PID>&x;</SUPPLIER_PID>", '<SUPPLIER_PID type="&x;">1</SUPPLIER_PID>'],
    ids=["in-text", "in-an-attribute"],
)
def test_the_dtd_is_never_read_from_a_file_nor_fetched(
    tmp_path: Path, scratch: Path, allowed: FeedContract, web: tuple[str, list[str]], use: str
) -> None:
    url, asked = web
    dtd = tmp_path / "bmecat.dtd"
    dtd.write_text('<!ENTITY x "from the file">\n', encoding="utf-8")

    for system_id in (dtd.as_uri(), str(dtd), f"{url}/bmecat.dtd"):
        path = bmecat(tmp_path, f'<!DOCTYPE BMECAT SYSTEM "{system_id}">', use)
        with pytest.raises(ParseError, match="undefined entity") as caught:
            read_file(path, allowed, scratch)
        # expat would drop an undeclared entity from an attribute without a word.
        assert caught.value.line == 5, system_id
        assert "(column " in str(caught.value)
        assert "from the" not in str(caught.value)

    assert asked == []


@pytest.mark.parametrize(
    ("doctype", "column"),
    [
        ('<!DOCTYPE BMECAT SYSTEM "bmecat.dtd" [<!ENTITY x "1">]>', 38),
        ('<!DOCTYPE BMECAT [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 18),
        ("<!DOCTYPE BMECAT [\n]>", 18),
    ],
    ids=["system-and-subset", "entity-only", "empty-subset"],
)
def test_an_internal_subset_stays_refused_at_its_line_and_column(
    tmp_path: Path, scratch: Path, allowed: FeedContract, doctype: str, column: int
) -> None:
    path = bmecat(tmp_path, doctype, "<SUPPLIER_PID>&x;</SUPPLIER_PID>")

    with pytest.raises(ParseError, match="internal DTD subset") as caught:
        read_file(path, allowed, scratch)

    assert caught.value.line == 2
    assert f"(column {column})" in str(caught.value)
    assert "root:" not in str(caught.value)


def test_a_doctype_after_a_comment_is_taken_and_one_inside_a_comment_changes_nothing(
    tmp_path: Path, scratch: Path, allowed: FeedContract
) -> None:
    path = bmecat(tmp_path, f"<!-- <!DOCTYPE x [ ]> -->\n{DECLARATION}")

    frame = read_file(path, allowed, scratch).frame

    assert frame.select("b:SUPPLIER_PID", LINE).rows() == [("1", 6)]


def test_doctype_is_refused_at_start_up_for_csv_feeds(tmp_path: Path) -> None:
    text = '[feed]\nentity = "product"\n[format]\ntype = "csv"\ndoctype = "external_dtd"\n'
    text += '[columns]\n"Sku" = "part_no"\n"Brand" = "manufacturer_code"\n"Name" = "name"\n'

    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path, "products")

    assert caught.value.key == "format.doctype"
    assert "xml feeds only" in caught.value.problem

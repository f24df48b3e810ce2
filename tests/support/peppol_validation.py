"""Validate a UBL Order with the UBL 2.1 XSD (lxml) and the official Peppol BIS Order 3
schematron (the published XSLT, run with Saxon: it is XSLT 2.0, which lxml cannot run).

Both are compiled once per process: the XSLT takes a second or two, a document a few ms.
Files and their sources: tests/fixtures/peppol/README.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

PEPPOL = Path(__file__).resolve().parent.parent / "fixtures" / "peppol"
ORDER_XSD = PEPPOL / "ubl21" / "UBL-Order-2.1-validate.xsd"
ORDER_XSLT = PEPPOL / "PEPPOLBIS-T01.xslt"
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
# The prefixes for XPath into a UBL Order.
NS = {
    "u": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@dataclass(frozen=True)
class Assertion:
    """One failed schematron assertion: its rule id, flag (fatal/warning) and text."""

    id: str
    flag: str
    location: str
    text: str

    def __str__(self) -> str:
        return f"[{self.flag}] {self.id} at {self.location}: {self.text}"


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ORDER_XSD)))


@functools.cache
def _stylesheet():  # type: ignore[no-untyped-def]  # saxonche ships no type hints
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    executable = compiler.compile_stylesheet(stylesheet_file=str(ORDER_XSLT))
    return processor, executable


def xsd_errors(document: bytes) -> list[str]:
    """Every UBL 2.1 Order schema error, as `line N: message`."""
    schema = _schema()
    schema.validate(etree.fromstring(document))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def schematron_failures(document: bytes) -> list[Assertion]:
    """Every failed assertion of the Peppol BIS Order 3 rules, fatal and warning alike."""
    processor, executable = _stylesheet()
    node = processor.parse_xml(xml_text=document.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    svrl = etree.fromstring(report.encode("utf-8"))
    return [
        Assertion(
            failed.get("id", "?"),
            failed.get("flag", "?"),
            _short(failed.get("location", "?")),
            " ".join("".join(failed.itertext()).split()),
        )
        for failed in svrl.iter(f"{_SVRL}failed-assert")
    ]


def fatal(document: bytes) -> list[Assertion]:
    """The failed assertions that make the document invalid Peppol."""
    return [a for a in schematron_failures(document) if a.flag == "fatal"]


def _short(location: str) -> str:
    """`/*:Order[namespace-uri()='...'][1]/*:OrderLine[...][2]` -> `/Order[1]/OrderLine[2]`."""
    return re.sub(r"\*:(\w+)\[namespace-uri\(\)='[^']*'\]", r"\1", location)

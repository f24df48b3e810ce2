"""`forget` on the order files the ERP got: every value of the buyer goes, in every layout.

A real export (both shipped order layouts, PEPPOL XML and head/line CSV) of two orders to
a local ERP folder; then the buyer of one is forgotten by e-mail. The archived copies
(`archive/orders/exported/<layout>/<day>/`) must hold none of her values, in element text,
attributes or CSV cells, and all of the other buyer's; the masked XML still parses.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from tests.support.exported_orders import exported_home, forget_in
from tests.support.privacy_order_bodies import HEDVIG, HEDVIG_FOLDED, TORA, left, values


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose two orders went to the ERP in both layouts (really exported)."""
    return exported_home(tmp_path_factory.mktemp("exported"), (("8101", HEDVIG), ("8102", TORA)))


@pytest.fixture
def home(exported: Path, tmp_path: Path) -> Path:
    shutil.copytree(exported, tmp_path / "copy")
    return tmp_path / "copy" / "home"


def _archived(home: Path) -> dict[str, str]:
    """Each archived order file's text, by its layout (folder) and name."""
    files = sorted(p for p in (home / "archive/orders/exported").rglob("*") if p.is_file())
    encodings = {"erp_csv": "cp1252", "peppol_order": "utf-8"}
    return {
        f"{p.parent.parent.name}/{p.name}": p.read_text(encoding=encodings[p.parent.parent.name])
        for p in files
        if p.suffix in (".csv", ".xml")
    }


def test_the_export_wrote_both_buyers_in_both_layouts(home: Path) -> None:
    """The premise: each layout's archived files carry both buyers' values."""
    texts = _archived(home)
    assert {name.split("/")[0] for name in texts} == {"erp_csv", "peppol_order"}
    joined = "\n".join(texts.values())
    assert "Hedvig Lindqvist" in joined and "Kvarnbacken 4" in joined and "Tora" in joined


def test_forget_leaves_no_value_of_the_buyer_in_any_exported_order_file(home: Path) -> None:
    before = _archived(home)
    assert "Lukasz Zak" in "".join(before.values())  # the premise: folded in the CSV

    forget_in(home, "--email", HEDVIG["Email"])

    texts = _archived(home)
    assert left(texts, [*values(HEDVIG), *HEDVIG_FOLDED]) == {}
    # Tora's values stay where they were: her PEPPOL file, her lines in the shared CSV.
    assert left(texts, values(TORA)) == left(before, values(TORA))
    assert len(left(texts, values(TORA))) == 2
    for name, text in texts.items():
        if name.endswith(".xml"):
            etree.fromstring(text.encode("utf-8"))  # still a document the ERP can read


def test_forget_masks_every_personal_field_of_her_spooled_order(home: Path) -> None:
    """Her identity number and work phone: in no layout, but in the body we keep."""
    forget_in(home, "--email", HEDVIG["Email"])

    bodies = {
        p.name: p.read_text(encoding="utf-8") for p in (home / "state/spool/orders").glob("8*")
    }
    assert left(bodies, values(HEDVIG)) == {} and len(bodies) == 2
    tora = next(t for n, t in bodies.items() if "8102" in n)
    every = values(TORA)[:-1]  # her values as the body has them (no full name in a body)
    assert left({"tora": tora}, every) == {"tora": every}


def test_a_dry_run_counts_what_the_forget_masks(home: Path) -> None:
    before = _archived(home)
    dry = forget_in(home, "--dry-run", "--email", HEDVIG["Email"])
    assert _archived(home) == before
    done = forget_in(home, "--email", HEDVIG["Email"])

    assert _counts(dry, "would mask") == _counts(done, "masked")
    assert "archive/orders" in _counts(done, "masked")


def _counts(printed: str, verb: str) -> dict[str, str]:
    """Per place, the count line the command printed."""
    found = re.findall(rf"^  (\S+): {verb} (.+)$", printed, re.MULTILINE)
    return dict(found)

"""`forget` on order files a layout wrote with `unencodable = "replace"`: the letters its
encoding lacks are its replacement character there ("Øvrebø" is "_vreb_" in ASCII), and
the buyer's values must go all the same, while another buyer's stay."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.exported_orders import exported_home, forget_in
from tests.support.paths import SCHEMAS
from tests.support.privacy_order_bodies import HEDVIG, TORA, left, values

ODD = {
    **HEDVIG,
    "CustomerCode": "C-7003", "FirstName": "Øyvind", "LastName": "Øvrebø",
    "Email": "oyvind.ovrebo@example.no", "Line1": "Åsveien 4", "City": "Ærøskøbing",
    "CareOf": "Дмитрий Ødegård",
}  # fmt: skip
# Her values as the ASCII layout below writes them.
ODD_REPLACED = ("_yvind", "_vreb_", "_r_sk_bing", "Asveien 4", "_______ _degard")


def _replacing_layouts(tmp_path: Path) -> Path:
    """The shipped contracts, the CSV order layout in ASCII, replacing what it cannot hold."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    layout = schemas / "orders" / "erp_csv.toml"
    text = layout.read_text(encoding="utf-8")
    old = 'encoding = "cp1252"'
    assert old in text and 'unencodable = "transliterate"' in text
    text = text.replace(old, 'encoding = "ascii"\nreplacement = "_"').replace(
        'unencodable = "transliterate"', 'unencodable = "replace"'
    )
    layout.write_text(text, encoding="utf-8")
    return schemas


def _csv_files(home: Path) -> dict[str, str]:
    files = (home / "archive/orders/exported/erp_csv").rglob("*.csv")
    return {p.name: p.read_text(encoding="ascii") for p in files}


def test_forget_masks_the_letters_a_replacing_layout_could_not_write(tmp_path: Path) -> None:
    root = exported_home(
        tmp_path / "x", (("8101", ODD), ("8102", TORA)), _replacing_layouts(tmp_path)
    )
    home = root / "home"
    before = _csv_files(home)
    written = "".join(before.values())
    assert all(v in written for v in ODD_REPLACED)  # the premise

    forget_in(home, "--email", ODD["Email"])

    after = _csv_files(home)
    assert left(after, [*values(ODD), *ODD_REPLACED]) == {}
    assert left(after, values(TORA)) == left(before, values(TORA)) != {}

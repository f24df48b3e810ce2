"""A person's values where a written file bent them: `?` for a letter the encoding lacks, a
line break inside a quoted CSV cell. Both were left unmasked by `forget` before."""

from __future__ import annotations

from pathlib import Path

from etl.privacy.masking import Masker, Person
from etl.privacy.rewrite import text_lines
from etl.to_erp.files.charset import encodable_in, fit

ODD = Person(
    anchors=frozenset({"odd@example.no"}),
    strong=frozenset({"odd@example.no", "Дмитрий Øvrebø"}),
    weak=frozenset({"Odd", "Øvrebø", "Ærøskøbing", "Storgata 1\nleil. 4"}),
    orders=frozenset({"8101"}),
)


def _as_replaced(text: str, encoding: str, replacement: str = "?") -> str:
    """`text` as a layout with `unencodable = "replace"` writes it (the renderer's own rule)."""
    return fit(text, encodable_in(encoding), "replace", replacement).text


def test_letters_a_replace_layout_wrote_as_question_marks_are_masked(tmp_path: Path) -> None:
    name, town = _as_replaced("Øvrebø", "ascii"), _as_replaced("Ærøskøbing", "ascii")
    strong = _as_replaced("Дмитрий Øvrebø", "ascii")
    assert (name, town, strong) == ("?vreb?", "?r?sk?bing", "??????? ?vreb?")  # what it writes
    path = tmp_path / "ORDERS.csv"
    path.write_bytes(
        f"H;8101;odd@example.no;Odd {name};{town}\r\nN;{strong}\r\nH;8102;eva@example.se;Eva;"
        f"{town}\r\n".encode("ascii")
    )

    assert text_lines(path, Masker(ODD, in_orders=True), True) == 5

    assert path.read_bytes().decode("ascii").splitlines() == [
        "H;8101;[erased];[erased] [erased];[erased]",
        "N;[erased]",  # the name written alone: identifies on its own, masked anywhere
        f"H;8102;eva@example.se;Eva;{town}",  # not her record: the town is Eva's too
    ]


def test_a_layout_s_own_replacement_character_is_matched(tmp_path: Path) -> None:
    name = _as_replaced("Øvrebø", "ascii", "_")
    path = tmp_path / "ORDERS.csv"
    path.write_bytes(f"H;8101;odd@example.no;{name}\n".encode("ascii"))

    masker = Masker(ODD, in_orders=True, unfit_as=frozenset("_"))
    assert text_lines(path, masker, True) == 2

    assert path.read_text(encoding="ascii") == "H;8101;[erased];[erased]\n"


def test_a_quoted_cell_with_a_line_break_is_one_record(tmp_path: Path) -> None:
    """The anchor on the record's first line makes the values on its next line hers."""
    path = tmp_path / "customers_20261207.csv"
    rows = [
        "code;email;name;street;city",
        'K1;odd@example.no;"Odd\r\nØvrebø";"Storgata 1\r\nleil. 4";Ærøskøbing',
        'K2;eva@example.se;"Eva\r\nØvrebø";Storgata 1;Ærøskøbing',
        'K3;"odd@example.no";Odd;"a ""quoted"" word\r\nover two lines";Oslo',
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))

    assert text_lines(path, Masker(ODD), True) == 7

    assert path.read_bytes().decode("utf-8").split("\r\n") == [
        "code;email;name;street;city",
        'K1;[erased];"[erased]',
        '[erased]";"[erased]";[erased]',  # her street: LF in the snapshot, CRLF in the file
        'K2;eva@example.se;"Eva',  # Eva's record: her namesake's values stay
        'Øvrebø";Storgata 1;Ærøskøbing',
        'K3;"[erased]";[erased];"a ""quoted"" word',
        'over two lines";Oslo',
        "",
    ]


def test_an_unclosed_quote_leaves_each_line_its_own_record(tmp_path: Path) -> None:
    """A text that is no CSV (a quote never closed) must not make the rest of the file hers."""
    path = tmp_path / "notes.txt"
    path.write_text('odd@example.no said "Odd\nEva Øvrebø lives in Ærøskøbing\n', encoding="utf-8")

    assert text_lines(path, Masker(ODD), True) == 2

    assert path.read_text(encoding="utf-8") == (
        '[erased] said "[erased]\nEva Øvrebø lives in Ærøskøbing\n'
    )

"""Customer and company rows: repeated companies taken once, personal data masked in reports."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.feeds import check, shipped

HEADER = (
    "Kundnr;Förnamn;Efternamn;E-post;Telefon;Mobil;Personnr;Företagsnr;Företag;Orgnr;Momsnr;"
    "Prislista;Adress;Adress2;Postnr;Ort;Land"
)
BYGG = "F-500;Bygg AB;556036-0793;;STD-SEK;Storgatan 1;;111 22;Stockholm;SE"


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "kunder_1.csv"
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path


def test_a_company_repeated_on_its_contacts_rows_is_one_company(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            f"K-1;Anna;A;a@x.se;;;;{BYGG}",
            f"K-2;Bo;B;b@x.se;;;;{BYGG}",
            "K-3;Eva;E;e@x.se;;;;;;;;;;;;;SE",  # a private customer: no company row
            f"K-4;Cia;C;c@x.se;;;;{BYGG.replace('Bygg AB', 'Bygg AB (old)')}",
        ],
    )

    validated = check(path, shipped("companies"), tmp_path / "scratch")

    assert validated.valid.height == 0
    assert validated.rejections.select("line", "code").rows() == [
        (2, "duplicate_key"),
        (3, "duplicate_key"),  # a copy of line 2 shares its outcome
        (5, "duplicate_key"),
    ]
    assert "lines 2, 3, 5" in validated.rejections["message"][0]


def test_identical_company_rows_count_once(tmp_path: Path) -> None:
    path = write(tmp_path, [f"K-1;Anna;A;a@x.se;;;;{BYGG}", f"K-2;Bo;B;b@x.se;;;;{BYGG}"])

    validated = check(path, shipped("companies"), tmp_path / "scratch")

    assert validated.valid["code"].to_list() == ["F-500"]
    assert validated.valid["_line"].to_list() == [2]
    assert validated.rows_read == 2


def test_a_social_security_number_is_masked_in_value_and_message(tmp_path: Path) -> None:
    too_long = "19850101-1234-56789012"
    path = write(tmp_path, [f"K-1;Anna;A;a@x.se;;;{too_long};;;;;;;;;;SE"])

    validated = check(path, shipped("customers"), tmp_path / "scratch")

    [row] = validated.rejections.select("field", "code", "message", "value").rows()
    assert row[:2] == ("social_security_number", "length")
    assert row[3] == "*" * (len(too_long) - 4) + "9012"
    assert "1985" not in row[2] and "1985" not in row[3]

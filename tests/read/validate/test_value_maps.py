"""ERP values mapped to canonical ones by contract ([values.<field>]).

Exact entries win over patterns, patterns are tried in order, a value the map does not name
passes through (the field's checks decide) or is rejected as `unmapped_value`, and an empty
cell stays empty. The report shows the value as the ERP wrote it, so finance can find it.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from etl.cli import main
from etl.config.contracts import FeedContract
from etl.entities import ENTITIES
from etl.errors import ConfigError
from etl.models import Validated
from tests.fixtures.feeds import check, contract_from

HEADER = "ID;First name;Last name;Email;Country"
CUSTOMERS = """
[feed]
entity = "customer"
[format]
type = "csv"
delimiter = ";"
[columns]
"ID" = "code"
"First name" = "first_name"
"Last name" = "last_name"
"Email" = "email"
"Country" = "country"
"""
COUNTRIES = """
[values.country]
map = { "United States" = "US", "Deutschland" = "DE", "Sverige" = "SE" }
"""


def customers(tmp_path: Path, values: str) -> FeedContract:
    return contract_from(CUSTOMERS + values, tmp_path / "schemas", "customers")


def read(tmp_path: Path, values: str, countries: list[str]) -> Validated:
    """The customer file with one row per country cell ("" for an empty one), validated."""
    rows = [f"C{i};Ann;Berg;ann{i}@example.com;{c}" for i, c in enumerate(countries, 1)]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return check(path, customers(tmp_path, values), tmp_path / "scratch")


def test_values_the_map_names_become_the_canonical_ones_and_empty_stays_empty(
    tmp_path: Path,
) -> None:
    validated = read(tmp_path, COUNTRIES, ["United States", "Deutschland", "", "SE"])

    assert validated.rejections["code"].to_list() == []
    assert validated.valid["country"].to_list() == ["US", "DE", None, "SE"]


def test_an_unmapped_value_is_kept_by_default_and_the_fields_checks_decide(
    tmp_path: Path,
) -> None:
    validated = read(tmp_path, COUNTRIES, ["Narnia", "FI"])

    [row] = validated.rejections.iter_rows(named=True)
    assert (row["line"], row["code"], row["value"]) == (2, "country", "Narnia")
    assert validated.valid["country"].to_list() == ["FI"]


def test_unmapped_reject_rejects_the_row_naming_value_field_and_key(tmp_path: Path) -> None:
    values = COUNTRIES.replace("[values.country]", '[values.country]\nunmapped = "reject"')
    validated = read(tmp_path, values, ["Sverige", "Österreich", "SE"])

    row, canonical = validated.rejections.iter_rows(named=True)
    assert (row["line"], row["field"], row["source_column"]) == (3, "country", "Country")
    assert (row["code"], row["value"]) == ("unmapped_value", "Österreich")
    assert "'Österreich'" in row["message"] and "[values.country]" in row["message"]
    # "SE" is a canonical value, but the map does not name it: rejected as asked.
    assert (canonical["line"], canonical["code"]) == (4, "unmapped_value")
    assert validated.valid["country"].to_list() == ["SE"]


PATTERNS = """
[values.country]
map = { "Sverige" = "SE" }
patterns = [
  { match = '^Sverige.*$', to = "DK" },
  { match = '^.*\\(([A-Z]{2})\\)$', to = '\\1' },
  { match = '^.*\\((..)\\)$', to = "NO" },
]
"""


def test_exact_entries_win_over_patterns_and_patterns_are_tried_in_order(tmp_path: Path) -> None:
    validated = read(tmp_path, PATTERNS, ["Sverige", "Sverige (FI)", "Suomi (FI)", "Norge (no)"])

    assert validated.rejections["code"].to_list() == []
    assert validated.valid["country"].to_list() == ["SE", "DK", "FI", "NO"]


def test_matching_is_exact_unless_the_map_ignores_case(tmp_path: Path) -> None:
    exact = read(tmp_path, COUNTRIES, ["united states"])
    assert exact.rejections["code"].to_list() == ["country"]

    loose = COUNTRIES.replace("[values.country]", "[values.country]\nignore_case = true")
    assert read(tmp_path, loose, ["united states", "SVERIGE"]).valid["country"].to_list() == [
        "US",
        "SE",
    ]


def test_a_bad_map_value_is_reported_with_what_the_erp_wrote(tmp_path: Path) -> None:
    validated = read(
        tmp_path, '[values.country]\nmap = { "United States" = "USA" }', ["United States"]
    )

    [row] = validated.rejections.iter_rows(named=True)
    assert (row["code"], row["value"]) == ("country", "United States")
    assert "'USA'" in row["message"]
    assert "'United States'" in row["message"] and "[values.country]" in row["message"]


def test_the_xlsx_report_shows_the_value_as_the_erp_wrote_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = COUNTRIES.replace("[values.country]", '[values.country]\nunmapped = "reject"')
    contract = customers(tmp_path, values.replace('"Sverige" = "SE"', '"Sverige" = "SWE"'))
    data = tmp_path / "customers.csv"
    data.write_text(
        f"{HEADER}\nC1;Ann;Berg;a@example.com;Sverige\nC2;Bo;Ek;b@example.com;Narnia\n",
        encoding="utf-8",
    )
    config = tmp_path / "etl.toml"
    (tmp_path / "home").mkdir()
    config.write_text(
        f'home = "{tmp_path / "home"}"\nschemas_dir = "{contract.path.parent}"\n'
        f'[stores.erp]\nkind = "local"\nroot = "{tmp_path}"\nread_only = true\n',
        encoding="utf-8",
    )

    code = main(
        [
            "--config",
            str(config),
            "check",
            str(data),
            "--feed",
            "customers",
            "--out",
            str(tmp_path / "out"),
        ]
    )

    assert code == 1, capsys.readouterr().out
    sheet = openpyxl.load_workbook(tmp_path / "out" / "customers.rejected.xlsx")["Rejected cells"]
    got = [(r[0], r[2], r[4], r[6]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert got == [
        (2, "Country", "country", "Sverige"),
        (3, "Country", "unmapped_value", "Narnia"),
    ]


def test_a_personal_fields_value_stays_masked_in_the_report(tmp_path: Path) -> None:
    values = '[values.social_security_number]\nunmapped = "reject"\nmap = { "-" = "19121212-1212" }'
    text = CUSTOMERS + '"PNR" = "social_security_number"\n' + values
    contract = contract_from(text, tmp_path / "schemas", "customers")
    path = tmp_path / "customers.csv"
    path.write_text(f"{HEADER};PNR\nC1;Ann;Berg;a@example.com;SE;19850101-2389\n", encoding="utf-8")

    [row] = check(path, contract, tmp_path / "scratch").rejections.iter_rows(named=True)

    assert (row["code"], row["value"]) == ("unmapped_value", "*********2389")
    assert "19850101" not in row["message"]


@pytest.mark.parametrize(
    ("values", "key", "problem"),
    [
        ('[values.colour]\nmap = { "a" = "b" }', "values.colour", "not a field of customer"),
        ('[values.phone]\nmap = { "a" = "b" }', "values.phone", "not read from the file"),
        (
            "[values.country]\npatterns = [{ match = '(', to = 'x' }]",
            "values.country.patterns.0.match",
            "not a regular expression",
        ),
        (
            "[values.country]\npatterns = [{ match = '^(a)$', to = '\\2' }]",
            "values.country.patterns.0",
            "no group '2'",
        ),
        (
            "[values.country]\npatterns = [{ match = '^(?P<a>a)$', to = '\\g<b>' }]",
            "values.country.patterns.0",
            "no group 'b'",
        ),
        (
            "[values.country]\npatterns = [{ match = '^(?!x)(a)$', to = '\\1' }]",
            "values.country.patterns.0.match",
            "look-around",
        ),
        ('[values.country]\nunmapped = "drop"', "values.country.unmapped", "'keep' or 'reject'"),
        ('[values.country]\nmap = { "-" = "" }', "values.country.map.-", "at least 1 character"),
        (
            '[values.country]\nignore_case = true\nmap = { "se" = "SE", "SE" = "FI" }',
            "values.country.map",
            "'se' and 'SE' are the same when case is ignored",
        ),
    ],
)
def test_a_mistake_in_a_value_map_stops_the_start_naming_the_key(
    tmp_path: Path, values: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        customers(tmp_path, values)

    assert caught.value.key == key
    assert problem in caught.value.problem


def test_the_boolean_example_maps_zero_and_one(tmp_path: Path) -> None:
    """The "0"/"1" example of docs/feed-contracts.md; asserted as text until a Boolean field exists."""
    active = "is_active" in ENTITIES["customer"].fields()
    field = "is_active" if active else "city"
    text = (
        CUSTOMERS
        + f'"Enabled" = "{field}"\n[values.{field}]\nmap = {{ "0" = "false", "1" = "true" }}\n'
    )
    contract = contract_from(text, tmp_path / "schemas", "customers")
    path = tmp_path / "customers.csv"
    path.write_text(
        f"{HEADER};Enabled\nC1;Ann;Berg;a@example.com;SE;1\nC2;Bo;Ek;b@example.com;SE;0\n",
        encoding="utf-8",
    )

    validated = check(path, contract, tmp_path / "scratch")

    assert validated.rejections["code"].to_list() == []
    got = validated.valid[field].to_list()
    assert got == ([True, False] if active else ["true", "false"])

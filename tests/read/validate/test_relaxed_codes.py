"""Code fields relaxed by contract to what Norce takes: `[checks.fields.<field>] code = "norce"`.

The product's own rule for part numbers and codes (letters, digits, . _ / -) is stricter than
Norce's (any printable text up to 50 characters); Magento SKUs ("MH01 XS Black") and its
customer group `ALL GROUPS` need Norce's. Where such a code goes on (an OData filter, a file
name) a space or a quote must not break anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.config.settings import LocalStoreSettings, Settings
from etl.entities.checks import norce_takes
from etl.errors import ConfigError
from etl.models import Validated
from etl.norce.order_calls import file_stem
from etl.norce.query import CUSTOMERS, QueryClient
from tests.fixtures.cases import DIALECTS
from tests.fixtures.feeds import check, contract_from
from tests.support.masterdata import run_once, settings_for
from tests.support.norce.app import NorceStandin
from tests.support.norce.query import QueryStandin

RELAXED = """
[checks.fields.part_no]
code = "norce"

[checks.fields.price_list_code]
code = "norce"
"""


def prices(tmp_path: Path, rows: list[str], checks: str = "") -> Validated:
    text = (
        '[feed]\nentity = "price"\n[format]\ntype = "csv"\n[columns]\n'
        '"sku" = "part_no"\n"group" = "price_list_code"\n"qty" = "quantity_break"\n'
        '"price" = "price_sale"\n[defaults]\ncurrency = "USD"\n' + checks
    )
    contract = contract_from(text, tmp_path / "schemas", "prices")
    data = tmp_path / "prices.csv"
    data.write_text("\n".join(["sku,group,qty,price", *rows]) + "\n", encoding="utf-8")
    return check(data, contract, tmp_path / "scratch")


def test_a_code_with_a_space_is_refused_by_default_saying_how_to_relax_it(tmp_path: Path) -> None:
    validated = prices(tmp_path, ['"MH01 XS Black",General,1,43.20'])

    [message] = validated.rejections["message"].to_list()
    assert message == (
        "'MH01 XS Black' is not allowed for Article number (Norce PartNo): use "
        "letters, digits and . _ / - only, no spaces, at most 50 characters; if the ERP's "
        "codes hold spaces or other characters Norce takes, let the feed contract take them: "
        '[checks.fields.part_no] code = "norce"'
    )


def test_a_relaxed_contract_takes_magento_skus_and_customer_groups(tmp_path: Path) -> None:
    validated = prices(
        tmp_path,
        ['"MH01 XS Black",ALL GROUPS,1,43.20', "Åsa's-hat (röd),General,1,10"],
        RELAXED,
    )

    assert validated.rejections.is_empty()
    assert validated.valid["part_no"].to_list() == ["MH01 XS Black", "Åsa's-hat (röd)"]
    assert validated.valid["price_list_code"].to_list() == ["ALL GROUPS", "General"]


NOT_EVEN_NORCE = {
    "tab": '"MH01\tXS",General,1,1',
    "line break": '"MH01\nXS",General,1,1',
    "no-break space": "MH01\u00a0XS,General,1,1",
    "51 characters": f"{'A' * 51},General,1,1",
}


@pytest.mark.parametrize("row", NOT_EVEN_NORCE.values(), ids=NOT_EVEN_NORCE.keys())
def test_relaxed_still_refuses_what_norce_or_a_person_cannot_tell_apart(
    tmp_path: Path, row: str
) -> None:
    validated = prices(tmp_path, [row], RELAXED)

    [(field, code, message)] = validated.rejections.select("field", "code", "message").rows()
    assert (field, code) == ("part_no", "pattern")
    assert message.endswith(
        "use printable characters, no tabs or line breaks, no space at the start or end, "
        "at most 50 characters"
    )


def test_norce_takes_no_space_at_either_end() -> None:
    # The readers trim every cell, so these come only from elsewhere (a default, a derived value).
    assert norce_takes("MH01 XS Black", 50)
    assert not norce_takes(" MH01", 50) and not norce_takes("MH01 ", 50)
    assert norce_takes("A" * 50, 50) and not norce_takes("A" * 51, 50)


def test_norce_counts_length_as_its_nvarchar_does_in_utf_16_units() -> None:
    # nvarchar(50) holds 50 UTF-16 code units: a character outside the BMP takes two.
    assert norce_takes("\N{GRINNING FACE}" * 25, 50)
    assert not norce_takes("\N{GRINNING FACE}" * 26, 50)
    assert not norce_takes("\N{GRINNING FACE}" * 50, 50)
    assert norce_takes("\u00e5" * 50, 50)  # in the BMP: one unit each


def test_a_relaxed_code_of_fifty_emoji_is_refused(tmp_path: Path) -> None:
    validated = prices(tmp_path, ["\N{GRINNING FACE}" * 50 + ",General,1,1"], RELAXED)

    [message] = validated.rejections["message"].to_list()
    assert message.endswith(
        "at most 50 characters as Norce counts them: each emoji or other character outside "
        "the Basic Multilingual Plane counts as two, so this is 100"
    )


def test_the_strict_rule_does_not_offer_relaxing_where_it_would_not_help(tmp_path: Path) -> None:
    validated = prices(tmp_path, ['"MH01\tXS",General,1,1'])

    [message] = validated.rejections["message"].to_list()
    assert "code = " not in message


@pytest.mark.parametrize(
    ("checks", "key", "words"),
    [
        ('[checks.fields.name]\ncode = "norce"', "checks.fields.name.code",
         "name has no code rule to relax (those with one: part_no, manufacturer_code, "
         "manufacturer_part_no, product_code, category_code)"),
        ('[checks.fields.part_no]\ncode = "any"', "checks.fields.part_no.code", "'strict' or 'norce'"),
        ('[checks.fields.name]\ncode = "strict"', "checks.fields.name.code",
         "name has no code rule, so code = \"strict\" checks nothing (those with one: part_no, manufacturer_code, "
         "manufacturer_part_no, product_code, category_code)"),
    ],
)  # fmt: skip
def test_relaxing_a_field_without_a_code_rule_is_refused_at_start(
    tmp_path: Path, checks: str, key: str, words: str
) -> None:
    text = (
        '[feed]\nentity = "product"\n[format]\ntype = "csv"\n[columns]\n'
        f'"a" = "part_no"\n"b" = "manufacturer_code"\n"c" = "name"\n{checks}\n'
    )
    with pytest.raises(ConfigError) as caught:
        contract_from(text, tmp_path, "products")

    assert caught.value.key == key
    assert words in caught.value.problem


# ---------------------------------------------------------------- where codes go on


def test_a_query_filter_takes_a_code_with_a_space_and_a_quote(norce: NorceStandin) -> None:
    store = QueryStandin(norce, application_id=7)
    wanted = norce.add_customer(first_name="Anna", email="a@x.se", code="ALL GROUPS O'Neil")
    norce.add_customer(first_name="Bo", email="b@x.se", code="ALL GROUPS")
    store.add_invoice({"Id": 9, "InvoiceNo": "F 100 'B'", "ReferenceOrderId": 1})

    with QueryClient(norce.settings(application_id=7), "/commerce/query/2.0") as query:
        found = query.find_parties(CUSTOMERS, "CustomerCode", "ALL GROUPS O'Neil")
        invoice = query.find_invoice("F 100 'B'")

    assert [r["Id"] for r in found] == [wanted]
    assert invoice is not None and invoice["Id"] == 9
    filters = [r.options["$filter"] for r in store.requests]
    assert filters == ["CustomerCode eq 'ALL GROUPS O''Neil'", "InvoiceNo eq 'F 100 ''B'''"]


def test_a_call_file_named_after_a_code_with_spaces_is_safe_and_distinct() -> None:
    spaced, dashed = file_stem("MH01 XS Black"), file_stem("MH01_XS_Black")

    assert " " not in spaced and spaced != dashed


SOURCE = '\n[source]\nfolder = "{folder}"\npattern = "*.csv"\nready = "temp_name"\n'


def magento_home(home: Path, erp: Path, norce: NorceStandin) -> Settings:
    """A home whose only feeds are the two Magento fixtures, reading from `erp`."""
    for contract in (home / "schemas").glob("*.toml"):
        contract.unlink()
    for name, folder in (
        ("magento_products_spaces", "products"),
        ("magento_all_groups_prices", "prices"),
    ):
        text = (DIALECTS / f"{name}.toml").read_text(encoding="utf-8")
        (home / "schemas" / f"{name}.toml").write_text(
            text + SOURCE.format(folder=folder), encoding="utf-8"
        )
        (erp / folder).mkdir(parents=True)
        shutil.copy(DIALECTS / f"{name}.csv", erp / folder / "export_1.csv")
    return settings_for(home, LocalStoreSettings(root=erp), norce.settings())


def test_spaced_skus_and_all_groups_go_to_norce_and_come_back_out_as_removals(
    home: Path, tmp_path: Path, norce: NorceStandin
) -> None:
    erp = tmp_path / "erp"
    settings = magento_home(home, erp, norce)

    first = run_once(settings)
    prices = (DIALECTS / "magento_all_groups_prices.csv").read_text(encoding="utf-8")
    without = "".join(line for line in prices.splitlines(keepends=True) if "Wholesale" not in line)
    (erp / "prices" / "export_2.csv").write_text(without, encoding="utf-8")
    second = run_once(settings, "magento_all_groups_prices")

    assert [o.outcome for o in first] == ["committed", "committed"]
    assert {"MH01 XS Black", "Luma Yoga Kit (3 pcs)"} <= set(norce.state.skus)
    assert norce.state.prices[("MH01 XS Black", "ALL GROUPS", 10)]["PriceSale"] == 47.5
    assert [o.counts["removals"] for o in second] == [1]
    assert norce.state.prices[("MH01 XS Black", "Wholesale", 5)]["IsActive"] is False

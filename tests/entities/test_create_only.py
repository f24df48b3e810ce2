"""Fields the ERP only seeds (a contract's `create_only`): sent on adds under Norce's CreateOnly
numbers (ProductCulture 1 NameCreateOnly, 6 DescriptionCreateOnly; Product 15
CategoriesCreateOnly, reference section 3), never on changes nor returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from etl.config.contract_files import load_contract
from etl.config.settings import Settings
from etl.entities import ENTITIES
from etl.models import Delta
from etl.runtime import Runtime
from etl.to_norce.masterdata.diff import diff
from etl.to_norce.masterdata.staging import call_context
from tests.support.entity_scenarios import GONE, build, product_delta
from tests.support.frames import PRODUCT, file_rows, keys, product, snapshot
from tests.support.listed_fields import check_calls
from tests.support.paths import SCHEMAS

SEEDED = ("name", "description", "category_code")
FULL = {"description": "Work glove", "category_code": "GLOVES", "ean": "7350000000016"}


def _delta(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Delta:
    return diff(
        snapshot(PRODUCT, old), file_rows(PRODUCT, new), keys(PRODUCT, []), PRODUCT.key, True
    )


def _sets(header: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in header.items() if k.endswith("FieldsThatAreSet")}


def test_only_product_fields_have_create_only_numbers() -> None:
    # Customers and companies have none on their own fields (reference sections 7-8).
    seedable = {name: e.seedable for name, e in ENTITIES.items() if e.seedable}
    assert seedable == {"product": frozenset(SEEDED)}


def test_an_add_lists_seeded_fields_under_their_create_only_numbers() -> None:
    delta = _delta([], [product("F", "Glove", **FULL)])
    (call,) = build(PRODUCT, delta, create_only=SEEDED)
    assert _sets(call.header) == {
        "ProductFieldsThatAreSet": [0, 4, 5, 15],
        "VariantFieldsThatAreSet": [5],
        "SkuFieldsThatAreSet": [2, 5, 22],
        "ProductCultureFieldsThatAreSet": [1, 6],
    }
    (item,) = call.items
    culture = {"CultureCode": "sv-SE", "Name": "Glove", "Description": "Work glove"}
    assert item["Cultures"] == [culture]
    assert item["Categories"] == [{"Code": "GLOVES"}]


def test_a_field_not_declared_create_only_keeps_its_own_number() -> None:
    delta = _delta([], [product("F", "Glove", **FULL)])
    (call,) = build(PRODUCT, delta, create_only=("description",))
    assert call.header["ProductCultureFieldsThatAreSet"] == [0, 6]
    assert 6 in call.header["ProductFieldsThatAreSet"]


def test_a_change_of_a_seeded_field_alone_sends_nothing() -> None:
    delta = _delta([product("A", "Glove", **FULL)], [product("A", "Cap", **FULL)])
    assert delta.changes.height == 1
    assert build(PRODUCT, delta, create_only=SEEDED) == []


def test_a_change_sends_its_other_fields_without_the_seeded_one() -> None:
    new = {**FULL, "description": "Warm", "ean": "7350000000023"}
    delta = _delta([product("A", "Glove", **FULL)], [product("A", "Cap", **new)])
    (call,) = build(PRODUCT, delta, create_only=SEEDED)
    assert _sets(call.header) == {
        "ProductFieldsThatAreSet": [4],
        "VariantFieldsThatAreSet": [5],
        "SkuFieldsThatAreSet": [5],
    }
    assert "Cultures" not in call.items[0]


def test_a_return_sends_no_seeded_field() -> None:
    # The SKU is in Norce (a removal only deactivates it): CreateOnly would leave it alone.
    delta = _delta([product("C", "Glove", **FULL, **GONE)], [product("C", "Cap", **FULL)])
    assert delta.reactivations.height == 1
    (call,) = build(PRODUCT, delta, create_only=SEEDED)
    assert _sets(call.header) == {
        "ProductFieldsThatAreSet": [0, 4],  # ManufacturerCode: an identity a return sets
        "VariantFieldsThatAreSet": [5],
        "SkuFieldsThatAreSet": [1, 5],
    }
    assert not {"Cultures", "Categories"} & set(call.items[0])


SUBSETS = [s for n in range(1, 4) for s in itertools.combinations(SEEDED, n)]


@pytest.mark.parametrize("create_only", SUBSETS, ids=["+".join(s) for s in SUBSETS])
def test_headers_list_exactly_what_items_seed(create_only: tuple[str, ...]) -> None:
    delta = product_delta()
    carried = frozenset(PRODUCT.fields())
    calls = build(PRODUCT, delta, carried=carried, create_only=create_only)
    assert calls
    check_calls(PRODUCT, calls, delta, carried, create_only)


def test_a_run_hands_the_contracts_create_only_fields_to_the_builder(tmp_path: Path) -> None:
    text = (SCHEMAS / "products.toml").read_text(encoding="utf-8")
    path = tmp_path / "products.toml"
    path.write_text(f'create_only = ["name", "category_code"]\n{text}', encoding="utf-8")
    contract = load_contract(path, Settings())
    runtime = cast(Runtime, SimpleNamespace(settings=Settings()))

    context = call_context(runtime, contract)

    assert context.create_only == {"name", "category_code"}
    assert context.create_only <= context.carried

"""A field the contract does not carry is never touched in Norce (products, prices, on-hand).

Norce (the stand-in) is first seeded with a value in every field for most keys of a small
pool; the others are created by the first add. A contract maps a random subset of the
entity's optional fields. Then 2-4 ERP exports (keys present, absent, changed, emptied,
returning) go the real way: diff against the last accepted snapshot, the entity's
`build_calls` for that contract, each call through the stand-in's contract checks and
applied. After every export, for every key of the pool:

- every Norce field outside the contract's mapping keeps its seeded value (the mapping may
  change between two exports: a field it stops mapping keeps what Norce holds from then on);
- every mapped field equals the ERP's last accepted value, except that
  * an empty cell on a key's first sight (add) says nothing: Norce keeps what it held
    (the seed); a change to empty does clear the field, and so does a cell emptied while
    the key was away, on its return (reactivation); one that was empty before and still
    is says nothing;
  * prices: Norce ignores an empty or 0 amount (reference section 4): the last amount
    above 0 stays;
  * products: a product Code the ERP empties stays (once Code (3) is listed every item
    needs one, so there is nothing to send); an emptied manufacturer part number becomes the
    article number, as the payload defaults it;
  * a field the contract declares `create_only` (name, description, category) is set on a
    SKU the add creates, and keeps Norce's value on one Norce already has (the first run
    against a live catalogue), and through every change and return;
- the entity's own fields follow the lifecycle: SKU Status is create-only on an add, the
  contract's reactivated or removed status otherwise, Type is set by every add (the
  contract's sku_type option); IsActive is true after an add or a return, false after a
  removal; a SKU the add creates gets its identities.
Every call also lists exactly what its items set (tests/support/listed_fields.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.entities import ENTITIES, Entity
from etl.entities.payloads import json_value
from etl.models import LINE
from etl.to_norce.masterdata.diff import apply, diff
from tests.support.entity_scenarios import build
from tests.support.frames import file_rows, keys, snapshot
from tests.support.listed_fields import check_calls
from tests.support.norce.contract import check_body, check_header
from tests.support.norce.state import NorceState

Row = dict[str, Any]
Flat = dict[str, Any]  # Norce's fields for one key, flattened ("S.EanCode", "C.sv-SE.Name")
UTC = dt.UTC


def _maybe(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


def _number(value: Any) -> Any:
    return json_value(Decimal(value))


@dataclass(frozen=True)
class Case:
    """One entity: its key pool, values, how Norce is seeded and read, and what a value becomes."""

    entity: Entity
    pool: tuple[Row, ...]  # the key fields of each key
    values: Mapping[str, st.SearchStrategy[Any]]  # every other field
    seed: Callable[[NorceState, Row], None]
    read: Callable[[NorceState, Row], Flat]
    norce: Callable[[str, Row], Flat]  # a canonical field of a row -> the Norce field(s) it sets
    takes: Callable[[str, Any, bool], bool]  # (field, value, in a change): does Norce take it
    lifecycle: Callable[[str, Row, bool], Flat]  # (kind, row, Norce had it) -> what it sets

    def optional(self) -> list[str]:
        """Fields a contract may leave unmapped."""
        required = set(self.entity.required_fields())
        return [f for f in self.values if f not in required]


# ---------------------------------------------------------------- products

SEED_PRODUCT = {
    "ManufacturerCode": "SEEDED", "ManufacturerName": "Seeded AB", "Alias": "seeded",
    "Code": "SEED-CL", "Categories": [{"Code": "SEED-CAT"}],
    "Cultures": {"sv-SE": {"Name": "Seeded", "Description": "Seeded text", "SubHeader": "Sub"},
                 "en-GB": {"Name": "Seeded in English"}},
}  # fmt: skip
SEED_SKU = {
    "ManufacturerPartNo": "SEED-MPN", "Status": 1, "Type": 11, "EanCode": "96385074",
    "ActualWeight": 9.5, "VatRates": [{"SalesArea": 1, "Rate": 6}], "CommodityCode": "SEED",
    "StartDate": "2020-01-01T00:00:00", "StopDate": "2030-01-01T00:00:00", "IsBuyable": True,
}  # fmt: skip
START = [dt.datetime(2026, 5, 31, 22, tzinfo=UTC), dt.datetime(2026, 9, 1, tzinfo=UTC)]
STOP = [dt.datetime(2027, 1, 1, 6, 30, 15, tzinfo=UTC)]
NEW_STATUS, BACK_STATUS, GONE_STATUS, ERP_STANDARD = 6, 6, 5, 1  # the options' defaults


def _seed_product(state: NorceState, key: Row) -> None:
    state.add_sku(key["part_no"], product=SEED_PRODUCT, sku=SEED_SKU)


def _read_product(state: NorceState, key: Row) -> Flat:
    part_no = key["part_no"]
    if part_no not in state.skus:
        return {}
    own = state.products[part_no]
    flat = {f"P.{k}": v for k, v in own.items() if k != "Cultures"}
    for code, culture in own.get("Cultures", {}).items():
        flat |= {f"C.{code}.{k}": v for k, v in culture.items()}
    skus = state.skus[part_no].items()
    return flat | {f"S.{k}": v for k, v in skus if k not in ("PartNo", "ManufacturerCode")}


def _date(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S")


_PRODUCT_NORCE: dict[str, Callable[[Row], Flat]] = {
    "manufacturer_code": lambda r: {"P.ManufacturerCode": r["manufacturer_code"]},
    "manufacturer_name": lambda r: {"P.ManufacturerName": r["manufacturer_name"]},
    "product_code": lambda r: {"P.Code": r["product_code"]},
    "category_code": lambda r: {
        "P.Categories": [{"Code": r["category_code"]}] if r["category_code"] else None
    },
    "name": lambda r: {"C.sv-SE.Name": r["name"]},
    "description": lambda r: {"C.sv-SE.Description": r["description"]},
    "manufacturer_part_no": lambda r: {
        "S.ManufacturerPartNo": r["manufacturer_part_no"] or r["part_no"]
    },
    "ean": lambda r: {"S.EanCode": r["ean"]},
    "weight": lambda r: {"S.ActualWeight": r["weight"] and _number(r["weight"])},
    "vat_rate": lambda r: {
        "S.VatRates": [{"SalesArea": 1, "Rate": _number(r["vat_rate"])}] if r["vat_rate"] else None
    },
    "start_date": lambda r: {"S.StartDate": _date(r["start_date"])},
    "stop_date": lambda r: {"S.StopDate": _date(r["stop_date"])},
}


def _product_lifecycle(kind: str, row: Row, had: bool) -> Flat:
    if kind == "add":
        made = {} if had else {
            "S.Status": NEW_STATUS,
            "P.ManufacturerCode": row["manufacturer_code"],
            "S.ManufacturerPartNo": row["manufacturer_part_no"] or row["part_no"],
        }  # fmt: skip
        return made | {"S.Type": ERP_STANDARD}
    return {"S.Status": BACK_STATUS if kind == "reactivate" else GONE_STATUS}


PRODUCT = Case(
    entity=ENTITIES["product"],
    pool=({"part_no": "A"}, {"part_no": "B"}, {"part_no": "C"}),
    values={
        "manufacturer_code": st.sampled_from(["ACME", "NORD"]),
        "name": st.sampled_from(["Glove", "Cap"]),
        "manufacturer_name": _maybe("Acme AB", "Nord AB"),
        "manufacturer_part_no": _maybe("MPN-1", "MPN-2"),
        "product_code": _maybe("CL-1", "CL-2"),
        "description": _maybe("Soft", "Warm"),
        "category_code": _maybe("GLOVES", "HATS"),
        "ean": _maybe("7350000000016", "7350000000023"),
        "vat_rate": _maybe("25", "12"),
        "weight": _maybe("0.35", "1.5"),
        "start_date": _maybe(*START),
        "stop_date": _maybe(*STOP),
    },
    seed=_seed_product,
    read=_read_product,
    norce=lambda f, row: _PRODUCT_NORCE[f](row),
    takes=lambda f, value, change: value is not None or (change and f != "product_code"),
    lifecycle=_product_lifecycle,
)


# ---------------------------------------------------------------- prices and stock

AMOUNTS = {"price_sale": "PriceSale", "cost_purchase": "CostPurchase", "cost_unit": "CostUnit",
           "price_recommended": "PriceRecommended", "price_previous": "PricePrevious",
           "price_catalog": "PriceCatalog"}  # fmt: skip
SEED_PRICE = {
    "CurrencyCode": "NOK", "PriceSale": 500, "CostPurchase": 400, "CostUnit": 300,
    "PriceRecommended": 600, "PricePrevious": 550, "PriceCatalog": 650, "IsActive": True,
    "IsPriceDiscountable": True, "PriceRule": 2,
}  # fmt: skip
PRICE_KEY = {"part_no": "PartNo", "price_list_code": "PriceListCode",
             "quantity_break": "QuantityBreak"}  # fmt: skip


def _flat_seed(table: str, names: Mapping[str, str], seeded: Flat) -> Callable[..., None]:
    def seed(state: NorceState, key: Row) -> None:
        record = {norce: key[f] for f, norce in names.items()}
        getattr(state, table)[tuple(key.values())] = record | seeded

    return seed


def _flat_read(table: str, names: Mapping[str, str]) -> Callable[[NorceState, Row], Flat]:
    def read(state: NorceState, key: Row) -> Flat:
        record = getattr(state, table).get(tuple(key.values()), {})
        return {k: v for k, v in record.items() if k not in names.values()}

    return read


def _active(kind: str, row: Row, had: bool) -> Flat:
    return {"IsActive": kind != "remove"}


def _price_norce(f: str, row: Row) -> Flat:
    if f == "currency":
        return {"CurrencyCode": row["currency"]}
    return {AMOUNTS[f]: row[f] and _number(row[f])}


PRICE = Case(
    entity=ENTITIES["price"],
    pool=tuple({"part_no": p, "price_list_code": pl, "quantity_break": q}
               for p, pl, q in (("A", "L1", 1), ("A", "L2", 1), ("B", "L1", 10))),
    values={
        "currency": st.sampled_from(["SEK", "EUR"]),
        "price_sale": st.sampled_from(["79.2", "10"]),
        "cost_purchase": _maybe("31.5", "0"),
        "cost_unit": _maybe("2", "0"),
        "price_recommended": _maybe("99", "0"),
        "price_previous": _maybe("89"),
        "price_catalog": _maybe("120", "0"),
    },
    seed=_flat_seed("prices", PRICE_KEY, SEED_PRICE),
    read=_flat_read("prices", PRICE_KEY),
    norce=_price_norce,
    # CurrencyCode rides in every item; an amount that is empty or 0 never overwrites.
    takes=lambda f, value, change: value is not None and (f == "currency" or Decimal(value) != 0),
    lifecycle=_active,
)  # fmt: skip

SEED_ONHAND = {
    "OnhandValue": 99, "IncomingValue": 77, "NextDeliveryDate": "2020-01-01T00:00:00",
    "LeadTimeDayCount": 30, "MinimumValue": 5, "MaximumValue": 500, "IsActive": True,
}  # fmt: skip
ONHAND_KEY = {"part_no": "PartNo", "warehouse_code": "WarehouseCode",
              "location_code": "LocationCode"}  # fmt: skip
_ONHAND_NORCE: dict[str, Callable[[Any], Flat]] = {
    "onhand_value": lambda v: {"OnhandValue": _number(v)},
    "incoming_value": lambda v: {"IncomingValue": v and _number(v)},
    "next_delivery_date": lambda v: {"NextDeliveryDate": v and f"{v.isoformat()}T00:00:00"},
    "lead_time_days": lambda v: {"LeadTimeDayCount": v},
}

ONHAND = Case(
    entity=ENTITIES["onhand"],
    pool=tuple({"part_no": p, "warehouse_code": w, "location_code": loc}
               for p, w, loc in (("A", "MAIN", "A1"), ("A", "MAIN", "B2"), ("B", "EXT", "A1"))),
    values={
        "onhand_value": st.sampled_from(["5", "-2.5"]),
        "incoming_value": _maybe("10", "0"),
        "next_delivery_date": _maybe(dt.date(2026, 11, 20), dt.date(2026, 12, 1)),
        "lead_time_days": _maybe(3, 14),
    },
    seed=_flat_seed("onhands", ONHAND_KEY, SEED_ONHAND),
    read=_flat_read("onhands", ONHAND_KEY),
    norce=lambda f, row: _ONHAND_NORCE[f](row[f]),
    takes=lambda f, value, change: value is not None or change,  # [I] listed, left out: null
    lifecycle=_active,
)  # fmt: skip


# ---------------------------------------------------------------- the property


@dataclass(frozen=True)
class History:
    """The contract's optional fields per export, the keys Norce held before, the exports."""

    mapped: tuple[frozenset[str], ...]  # per export: a contract may start or stop mapping one
    seeded: frozenset[int]  # indexes into the pool
    exports: tuple[dict[int, Row], ...]  # pool index -> the export's row, as the file gives it
    create_only: frozenset[str] = frozenset()  # fields the ERP only seeds (of those carried)


@st.composite
def histories(draw: st.DrawFn, case: Case) -> History:
    """2-4 exports; a key is absent, its last row again, that with one field redrawn, or fresh."""
    optional = st.frozensets(st.sampled_from(case.optional()))
    seeded = draw(st.frozensets(st.sampled_from(range(len(case.pool)))))
    seedable = sorted(case.entity.seedable)
    create_only = draw(st.frozensets(st.sampled_from(seedable))) if seedable else frozenset()
    mapped, exports, last = [draw(optional)], [], {}
    for n_export in range(draw(st.integers(2, 4))):
        if n_export and draw(st.integers(0, 3)) == 0:
            mapped.append(draw(optional))  # the contract changed between two exports
        elif n_export:
            mapped.append(mapped[-1])
        carried = set(case.values) - set(case.optional()) | mapped[-1]
        export = {}
        for n, key in enumerate(case.pool):
            fates = ["absent", "fresh"] + (["same", "tweak"] if n in last else [])
            fate = draw(st.sampled_from(fates))
            if fate == "absent":
                continue
            row = {**key, **{f: draw(s) for f, s in case.values.items()}}
            if fate in ("same", "tweak"):
                row = dict(last[n])
            if fate == "tweak":
                field = draw(st.sampled_from(sorted(carried)))
                row[field] = draw(case.values[field])
            last[n] = row
            # The file has no column for an unmapped field: map_columns leaves it empty.
            export[n] = {f: (v if f in carried or f in key else None) for f, v in row.items()}
        exports.append(export)
    return History(tuple(mapped), seeded, tuple(exports), create_only)


def _expect(case: Case, carried: set[str], flat: Flat, was: Row | None, row: Row | None,
            kind: str, had: bool, accepted: Row | None = None,
            create_only: frozenset[str] = frozenset()) -> Flat:  # fmt: skip
    """What Norce must hold for one key after one export (see the module docstring).

    `accepted`: the key's row as last accepted, when it returns after a removal.
    """
    if row is None:
        return flat | case.lifecycle("remove", was or {}, had) if was else flat
    flat = flat | case.lifecycle(kind, row, had) if kind != "change" else dict(flat)
    for f in carried:
        if kind == "change" and row[f] == was[f]:  # type: ignore[index]
            continue
        if f in create_only and (kind != "add" or had):
            continue  # seeded once, by the add that creates the SKU
        emptied = kind == "reactivate" and accepted is not None and row[f] != accepted[f]
        if case.takes(f, row[f], kind == "change" or emptied):
            flat |= case.norce(f, row)
    return flat


def check(case: Case, history: History) -> None:
    """Run the exports one after another; after each, Norce holds what the docstring says."""
    entity, state = case.entity, NorceState()
    for n in history.seeded:
        case.seed(state, case.pool[n])
    expected = {n: case.read(state, key) for n, key in enumerate(case.pool)}
    old, last, ever = snapshot(entity, []), {}, set()
    accepted: dict[int, Row] = {}  # each key's row as last accepted
    for export, mapped in zip(history.exports, history.mapped, strict=True):
        carried = (set(case.values) - set(case.optional())) | mapped
        contract = frozenset(carried | set(entity.key))
        create_only = history.create_only & contract  # the loader refuses one not carried
        new = file_rows(entity, list(export.values()))
        delta = diff(old, new, keys(entity, []), entity.key, True)
        calls = build(entity, delta, carried=contract, create_only=create_only)
        for call in calls:
            header = check_header(call.method, call.header_line())
            applied = state.apply(call.method, header, check_body(call.method, call.body_bytes()))
            assert not applied.failures, applied.failures
        old = apply(old, new.drop(LINE), delta, entity.key)
        for n, key in enumerate(case.pool):
            was, row = last.get(n), export.get(n)
            kind = "change" if was and row else "reactivate" if n in ever else "add"
            had = n in history.seeded or n in ever
            expected[n] = _expect(
                case, carried, expected[n], was, row, kind, had, accepted.get(n), create_only
            )
            held = case.read(state, key)
            names = expected[n].keys() | held.keys()
            assert {k: held.get(k) for k in names} == {k: expected[n].get(k) for k in names}, key
        check_calls(entity, calls, delta, contract, create_only)
        ever |= set(export)
        accepted |= export
        last = export


@settings(max_examples=150, deadline=None)
@given(histories(PRODUCT))
def test_products_touch_only_what_the_contract_carries(history: History) -> None:
    check(PRODUCT, history)


@settings(max_examples=100, deadline=None)
@given(histories(PRICE))
def test_prices_touch_only_what_the_contract_carries(history: History) -> None:
    check(PRICE, history)


@settings(max_examples=100, deadline=None)
@given(histories(ONHAND))
def test_stock_touches_only_what_the_contract_carries(history: History) -> None:
    check(ONHAND, history)


def test_the_first_run_against_a_live_catalogue_keeps_what_people_set() -> None:
    # The smallest example of issue 12: a contract without EAN, weight or VAT.
    row = {"part_no": "A", "manufacturer_code": "ACME", "name": "Glove"}
    row |= dict.fromkeys(set(PRODUCT.values) - set(row))
    nothing = frozenset[str]()
    check(PRODUCT, History((nothing, nothing), frozenset({0}), ({0: row}, {0: row})))


def test_a_create_only_field_keeps_norces_value_on_an_existing_sku_and_seeds_a_new_one() -> None:
    # A (index 0) is in Norce, enriched there; B (index 1) is new. Then the ERP renames both.
    row: Row = {"manufacturer_code": "ACME", "name": "Glove", "description": "Soft",
                "category_code": "GLOVES"}  # fmt: skip
    row |= dict.fromkeys(set(PRODUCT.values) - set(row))
    first = {0: {"part_no": "A", **row}, 1: {"part_no": "B", **row}}
    renamed = {n: {**r, "name": "Cap", "description": "Warm"} for n, r in first.items()}
    mapped = frozenset({"description", "category_code"})
    seeds = frozenset({"name", "description", "category_code"})
    check(PRODUCT, History((mapped, mapped), frozenset({0}), (first, renamed), seeds))
    state = NorceState()
    _seed_product(state, {"part_no": "A"})
    for rows in (first, renamed):
        new = file_rows(PRODUCT.entity, list(rows.values()))
        old = snapshot(PRODUCT.entity, [first[0], first[1]] if rows is renamed else [])
        delta = diff(old, new, keys(PRODUCT.entity, []), ("part_no",), True)
        for call in build(PRODUCT.entity, delta, create_only=seeds):
            state.apply(call.method, dict(call.header), [dict(i) for i in call.items])
    assert state.products["A"]["Cultures"]["sv-SE"]["Name"] == "Seeded"
    assert state.products["A"]["Categories"] == [{"Code": "SEED-CAT"}]
    assert state.products["B"]["Cultures"]["sv-SE"] == {"Name": "Glove", "Description": "Soft"}
    assert state.products["B"]["Categories"] == [{"Code": "GLOVES"}]


def test_the_cases_cover_every_field() -> None:
    for case in (PRODUCT, PRICE, ONHAND):
        # is_active is a state, no value Norce keeps: tests/entities/test_active_flag_payloads.py
        covered = set(case.values) | set(case.entity.key) | {"is_active"}
        assert covered == set(case.entity.fields())

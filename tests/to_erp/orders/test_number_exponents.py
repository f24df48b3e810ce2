"""A number whose exponent is out of all proportion is refused with a reason, as a long one is.

Found by review: `1E999999999999999999999999` made decimal raise InvalidOperation out of
parse_order (an ArithmeticError, which neither the receiver's nor the export's handling of a
refused body catches), and `1E999999999999999999` was taken as a quantity of a number with a
quintillion digits, which the export would have to write out; the same text in a string (an XML
body) too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

import pytest
from pydantic import ValidationError

from etl.to_erp.orders.bodies import MAX_DIGITS, BodyRefused, parse_order, read_order
from etl.to_erp.orders.model import OrderRequest, Wire


def _body(number: str) -> bytes:
    return b'{"ClientOrderRef": "1", "Items": [{"PartNo": "A", "Quantity": %s}]}' % number.encode()


@pytest.mark.parametrize(
    "number",
    [
        "1E999999999999999999",
        "1E999999999",
        "1E999999999999999999999999",
        "1.5e-9999999999999999999",
        f"1E{MAX_DIGITS + 1}",
        f"1E-{MAX_DIGITS + 1}",
    ],
)
def test_an_exponent_past_the_digits_we_read_is_refused(number: str) -> None:
    with pytest.raises(BodyRefused, match="not JSON we can read: a number of"):
        parse_order(_body(number), "json")


@pytest.mark.parametrize(
    ("number", "quantity"),
    [("2E2", Decimal(200)), ("1.5e1", Decimal(15)), (f"1E{MAX_DIGITS}", Decimal(10) ** MAX_DIGITS),
     ("0E-999999", Decimal(0))],
)  # fmt: skip
def test_an_exponent_within_them_is_read(number: str, quantity: Decimal) -> None:
    assert parse_order(_body(number), "json").items[0].quantity == quantity


def test_such_a_number_in_text_is_left_out_of_the_order_with_a_reason() -> None:
    # XML bodies, and JSON that quotes its numbers, reach the model as text.
    body = b'{"ClientOrderRef": "1", "Items": [{"PartNo": "A", "Quantity": "1E999999999"}]}'
    read = read_order(body, "json")
    assert read.order.items[0].quantity is None
    assert any("digits written out" in problem for problem in read.problems), read.problems


def _decimal_fields() -> list[tuple[type[Wire], str]]:
    models = {OrderRequest}
    found: list[tuple[type[Wire], str]] = []
    while models:
        model = models.pop()
        for name, info in model.model_fields.items():
            kinds = {info.annotation, *get_args(info.annotation)}
            kinds |= {a for k in kinds for a in get_args(k)}
            models |= {k for k in kinds if isinstance(k, type) and issubclass(k, Wire)}
            if Decimal in kinds:
                found.append((model, name))
    return sorted(found, key=lambda pair: (pair[0].__name__, pair[1]))


@pytest.mark.parametrize(("model", "name"), _decimal_fields())
def test_every_decimal_field_of_an_order_is_held_in_proportion(
    model: type[Wire], name: str
) -> None:
    with pytest.raises(ValidationError, match="digits written out"):
        model.model_validate({name: "1E999999999"})


def test_the_reason_does_not_quote_the_number() -> None:
    with pytest.raises(BodyRefused) as refused:
        parse_order(_body("7E777777777"), "json")
    assert "777" not in refused.value.reason

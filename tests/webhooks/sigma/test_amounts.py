"""Amounts and quantities of the SIGMA contract are read exactly from a JSON number or a
decimal string, and never through a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import sigma as sg
from webhooks.evotor.body import loads_exact

amounts = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3)


@given(amounts, quantities)
def test_a_number_and_its_string_are_the_same_value(price: Decimal, quantity: Decimal) -> None:
    """For every amount and quantity in range, the JSON number and the JSON string give
    exactly the Decimal written (no float rounding of 99 999 999.99 and the like)."""
    as_number = loads_exact(f'{{"id": "1", "price": {price}, "quantity": {quantity}}}')
    as_text = loads_exact(f'{{"id": "1", "price": "{price}", "quantity": "{quantity}"}}')
    one, other = sg.Line.model_validate(as_number), sg.Line.model_validate(as_text)
    assert one.price == other.price == price and one.quantity == other.quantity == quantity


@pytest.mark.parametrize(
    "value", ["1.005", "-1", " 1", "1e3", "١٢", "1_000", True, 1.5, "", "99999999.999", 10**9]
)
def test_inexact_or_odd_amounts_are_refused(value: object) -> None:
    """Three places, a sign, spaces, exponents in strings, other scripts' digits,
    underscores, booleans, floats and out-of-range values are refused, not coerced."""
    with pytest.raises(ValidationError):
        sg.Line.model_validate({"id": "1", "price": value, "quantity": 1})

"""Amounts become exact Decimals in major units, or a clear error; never a silent rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tap_pay.money import UNIT_BY_ENDPOINT, AmountError, AmountUnit, quantum, to_major


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (152340, "EUR", "1523.40"),
        (-12100, "EUR", "-121.00"),
        (0, "EUR", "0.00"),
        (1, "EUR", "0.01"),
        (500, "JPY", "500"),
        (1234, "BHD", "1.234"),
    ],
)
def test_cents_become_major_units_of_their_currency(value: int, currency: str, expected: str):
    result = to_major(value, currency, AmountUnit.MINOR)
    assert result == Decimal(expected)
    assert str(result) == expected  # the exponent is the currency's minor unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("6.23"), "6.23"), (Decimal("380.5"), "380.50"), (12, "12.00")],
)
def test_euros_are_quantized_to_the_cent_without_rounding(value: object, expected: str):
    assert str(to_major(value, "EUR", AmountUnit.MAJOR)) == expected


def test_a_fraction_of_a_cent_is_refused_not_rounded():
    with pytest.raises(AmountError, match="more decimals than EUR allows"):
        to_major(Decimal("6.235"), "EUR", AmountUnit.MAJOR)


def test_a_decimal_in_a_cents_field_is_refused_even_when_whole():
    # 250.00 where cents belong is euros: reading it as 250 cents would lose a factor 100.
    with pytest.raises(AmountError, match="whole number of EUR minor units"):
        to_major(Decimal("250.00"), "EUR", AmountUnit.MINOR)


@pytest.mark.parametrize("value", ["1250", None, True, 12.5, [1]])
def test_non_numbers_are_refused_with_their_kind(value: object):
    with pytest.raises(AmountError, match="expected a JSON number"):
        to_major(value, "EUR", AmountUnit.MINOR)


def test_non_finite_euros_are_refused():
    with pytest.raises(AmountError, match="finite"):
        to_major(Decimal("NaN"), "EUR", AmountUnit.MAJOR)


def test_every_endpoint_has_exactly_one_unit():
    assert UNIT_BY_ENDPOINT["/invoicelines"] is AmountUnit.MAJOR
    assert UNIT_BY_ENDPOINT["/clearings/{clearingId}/records"] is AmountUnit.MINOR
    assert quantum("EUR") == Decimal("0.01")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_any_cents_round_trip_exactly(cents: int):
    major = to_major(cents, "EUR", AmountUnit.MINOR)
    assert major.as_tuple().exponent == -2
    assert major.scaleb(2) == cents


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_any_two_decimal_euros_are_kept_as_they_are(euros: Decimal):
    assert to_major(euros, "EUR", AmountUnit.MAJOR) == euros
